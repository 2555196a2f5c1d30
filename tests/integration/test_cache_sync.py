"""Cache sync on domain events: the domain records what changed (gbc.events) and only the cache's
subscribers (gbc.cache.sync) touch cached entries; a COMMIT whose answer was lost makes what it
touched unreachable; every function subscribes the cache when it is imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gbc.cache import Keys, cache_query
from gbc.data.models import TransactionType
from gbc.data.transaction import CommitOutcomeUnknown, unit_of_work
from gbc.ledger import apply_balance_change
from tests.support.api import call_api
from tests.support.factories import make_funded_user

ROOT = Path(__file__).resolve().parents[2]
GBC = ROOT / "layers" / "common" / "gbc"
READ_PATH = {"Keys", "Query", "cache_query", "cache_queries", "cache_stats", "breaker"}
FUNCTIONS = [
    "functions/api/api_app.py",
    "functions/api/auth_app.py",
    "functions/workers/worker_app.py",
    "functions/workers/outbox_sweep_app.py",
    "functions/workers/nightly_stats_app.py",
    "functions/chain_poller/chain_poller_app.py",
]


def test_outside_the_cache_only_the_read_path_is_imported():
    """The domain reads through the cache, and never writes, patches or invalidates it itself."""
    offenders = []
    for path in GBC.rglob("*.py"):
        if path.is_relative_to(GBC / "cache") or path.name == "bootstrap.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gbc.cache"):
                names = {a.name for a in node.names}
                if node.module == "gbc.cache.client":
                    continue  # the shared Redis connection, not the query cache
                if node.module != "gbc.cache" or not names <= READ_PATH:
                    offenders.append(f"{path.relative_to(GBC)}: from {node.module} import {sorted(names)}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("query:"):
                offenders.append(f"{path.relative_to(GBC)}: builds a cache key {node.value!r}")
    assert offenders == []


def _subscribed(function: str) -> str:
    probe = (
        "import runpy, sys; from gbc import events; "
        f"runpy.run_path({function!r}); "
        "missing = [(w, t.__name__) for w in ('committed', 'outcome_unknown') for t in events.EVENT_TYPES "
        "if not events.subscribers(t, w)]; print(missing)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    return result.stdout.strip().splitlines()[-1] if result.returncode == 0 else result.stderr[-2000:]


def test_every_function_subscribes_the_cache_to_every_event_when_imported():
    with ThreadPoolExecutor(len(FUNCTIONS)) as pool:
        found = dict(zip(FUNCTIONS, pool.map(_subscribed, FUNCTIONS), strict=True))
    assert found == {f: "[]" for f in FUNCTIONS}


def test_a_commit_whose_answer_was_lost_makes_the_cached_wallet_unreachable(db, monkeypatch):
    user = make_funded_user("50")
    assert call_api("GET", "/api/wallet", user_id=user.id).body["balance"] == "50"
    real_commit = Session.commit

    def commit_then_lose_the_answer(self: Session) -> None:
        real_commit(self)  # it happened, but the caller cannot know
        raise ConnectionResetError("the answer to COMMIT was lost")

    monkeypatch.setattr(Session, "commit", commit_then_lose_the_answer)
    with pytest.raises(CommitOutcomeUnknown), unit_of_work() as uow:
        apply_balance_change(uow, user.id, TransactionType.GAME_BET, Decimal(-5), "lost-commit")
    monkeypatch.setattr(Session, "commit", real_commit)
    # The cached "50" is unreachable (not patched: the change might not have happened): a fresh load.
    assert call_api("GET", "/api/wallet", user_id=user.id).body["balance"] == "45"


def test_events_of_a_rolled_back_transaction_reach_no_subscriber(db):
    user = make_funded_user("20")
    assert call_api("GET", "/api/wallet", user_id=user.id).body["balance"] == "20"
    with pytest.raises(RuntimeError), unit_of_work() as uow:
        apply_balance_change(uow, user.id, TransactionType.GAME_BET, Decimal(-5), "rolled-back")
        raise RuntimeError("the request failed after the debit")
    cached = cache_query(*Keys.wallet_summary(user.id), lambda: pytest.fail("still cached"), user_id=user.id)
    assert cached["summary"]["balance"] == "20"
