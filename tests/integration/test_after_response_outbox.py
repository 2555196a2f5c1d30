"""A round's jobs leave after the response: the response never waits for SQS, and a container that
dies after answering (before its post-response work ran) loses nothing, because the jobs are
committed outbox rows that the sweep delivers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from gbc.data.models import OutboxJob
from gbc.data.transaction import unit_of_work
from gbc.queue.outbox import sweep_outbox
from tests.support.factories import make_funded_user
from tests.support.sqs import receive, run_worker

ROOT = Path(__file__).resolve().parents[2]

# A container of the local stack (GBC_AFTER_RESPONSE=host) deals a round that ends at once (the
# player's blackjack), answers, and dies before it drains its post-response work.
DIES_AFTER_ANSWERING = textwrap.dedent(
    """
    import json, os, sys, uuid
    from gbc.game import shoes
    from tests.support.shoes import RANKS, StackedShoe
    cards = [RANKS["A"], RANKS["9"] + 13, RANKS["K"] + 26, RANKS["7"] + 39]
    shoes.factory = lambda seeds: StackedShoe(cards)
    from tests.support.api import call_api
    response = call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=uuid.UUID(sys.argv[1]))
    print(json.dumps({"status": response.status, "result": response.body.get("result")}), flush=True)
    os._exit(0)
    """
)


def _outbox_rows() -> int:
    with unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(OutboxJob)) or 0)


def test_a_container_that_dies_after_its_response_loses_no_job(db, services, override_settings):
    user = make_funded_user("100")
    env = {**os.environ, "GBC_AFTER_RESPONSE": "host"}
    done = subprocess.run(
        [sys.executable, "-c", DIES_AFTER_ANSWERING, str(user.id)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"status": 201, "result": "BLACKJACK"}, done.stderr[-3000:]
    assert _outbox_rows() == 2, "stats:recompute and audit:log were committed with the round, not sent"

    override_settings(OUTBOX_SWEEP_AGE_SECONDS=0)
    assert sweep_outbox() == 2
    messages = receive(services["queues"]["JobsQueue"])
    assert sorted(json.loads(m["Body"])["type"] for m in messages) == ["audit:log", "stats:recompute"]
    run_worker(messages)
    assert _outbox_rows() == 0


def test_a_stand_that_ends_the_round_writes_its_jobs_with_its_step(db, services, monkeypatch):
    """The round's jobs ride along the step's statement (a CTE): no INSERT of their own, one round
    trip less, and the rows are there once it has committed."""
    from sqlalchemy import event

    from gbc.data.database import get_engine
    from tests.support.api import call_api
    from tests.support.shoes import stack

    user = make_funded_user("100")
    stack(monkeypatch, "10", "10", "9", "8")  # 19 against 18: the stand wins
    game = call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=user.id).body
    before = _outbox_rows()
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        ended = call_api("POST", "/api/game/action", body={"gameId": game["id"], "action": "stand"}, user_id=user.id)
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)
    assert ended.status == 200 and ended.body["result"] == "WIN"
    statements = [s for s in statements if "revoked_tokens" not in s]  # the test's unverified session check
    assert not [s for s in statements if s.lstrip().upper().startswith("INSERT INTO OUTBOX")]
    assert len(statements) == 2, "the locked game; the payout with its ledger row, and the step, move and jobs"
    assert _outbox_rows() == before + 2, "stats:recompute and audit:log"


def test_a_step_carrying_its_jobs_is_compiled_once():
    """SQLAlchemy caches a statement's compilation only if it has a cache key (a multi-row VALUES has
    none: every round's end would compile its step again)."""
    import uuid

    from gbc.data.transaction import UnitOfWork
    from gbc.game.service import _SAVE_STEP
    from gbc.messages import StatsRecomputePayload
    from gbc.queue.jobs import new_job
    from gbc.queue.outbox import carrying_jobs

    uow = UnitOfWork(session=None)  # type: ignore[arg-type]
    uow.info["outbox_unwritten"] = [
        new_job(StatsRecomputePayload(userId=uuid.uuid4(), trigger="game:ended")) for _ in range(2)
    ]
    statement, params = carrying_jobs(_SAVE_STEP, uow)
    assert statement._generate_cache_key() is not None
    assert len(params) == 12 and uow.info["outbox_unwritten"] == []


def _statements_of(fn):
    """What `fn` sent to PostgreSQL, without the test client's session check."""
    from sqlalchemy import event

    from gbc.data.database import get_engine

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        result = fn()
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)
    return result, [s for s in statements if "revoked_tokens" not in s]


def _stored(game_id: str):
    from gbc.data.models import Game, GameMove

    with unit_of_work() as uow:
        game = uow.session.get(Game, uuid.UUID(game_id))
        moves = uow.session.scalars(select(GameMove).where(GameMove.game_id == game.id)).all()
        return game, [(m.move, m.payload) for m in moves]


def test_a_deal_writes_its_game_and_move_in_one_statement(db, services, monkeypatch):
    """The deal is Core: the game row and its deal move in one INSERT (the move a CTE), then the
    bet's ledger row; no ORM flush of its own."""
    from gbc import blackjack
    from tests.support.api import call_api
    from tests.support.shoes import stack

    user = make_funded_user("100")
    stack(monkeypatch, "10", "9", "Q", "8")
    dealt, statements = _statements_of(lambda: call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=user.id))
    assert dealt.status == 201 and dealt.body["state"] == "PLAYER_TURN"
    assert len(statements) == 2, statements
    assert "INSERT INTO game_moves" in statements[0] and "INSERT INTO games" in statements[0]
    game, moves = _stored(dealt.body["id"])
    assert (game.version, game.ended_at, game.result, game.win_amount, game.insurance_bet) == (1, None, None, 0, 0)
    assert game.user_id == user.id and game.bet_amount == 10 and game.fairness["nonce"] == 0
    assert blackjack.Round.from_dict(game.hands).cursor == 4 and len(game.dealer_hand["cards"]) == 2
    assert moves == [("deal", {"cursor": 4})]
    assert Decimal(call_api("GET", "/api/wallet", user_id=user.id).body["balance"]) == 90
    # the game plays on from the stored row
    stood = call_api("POST", "/api/game/action", body={"gameId": str(game.id), "action": "stand"}, user_id=user.id)
    assert stood.status == 200 and stood.body["result"] == "WIN" and Decimal(stood.body["balance"]) == 110


def test_a_dealt_blackjack_is_stored_ended_and_paid_with_its_jobs(db, services, monkeypatch):
    from tests.support.api import call_api
    from tests.support.shoes import stack

    user = make_funded_user("100")
    stack(monkeypatch, "A", "9", "K", "7")
    before = _outbox_rows()
    dealt = call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=user.id)
    assert dealt.status == 201 and dealt.body["result"] == "BLACKJACK", dealt.body
    game, moves = _stored(dealt.body["id"])
    assert game.ended_at is not None and game.state.value == "ENDED" and game.win_amount == 25
    assert game.net_profit == 15 and moves == [("deal", {"cursor": 4})]
    assert _outbox_rows() == before + 2, "stats:recompute and audit:log"
    assert Decimal(call_api("GET", "/api/wallet", user_id=user.id).body["balance"]) == 115
    again = call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=user.id)
    assert again.status == 201, "the ended game does not hold the one-active-game index"


def test_a_stand_that_loses_is_two_statements_and_pays_nothing(db, monkeypatch):
    """No payout: the step (with its move and jobs) goes alone after the locked game."""
    from gbc.data.models import Transaction
    from tests.support.api import call_api
    from tests.support.shoes import stack

    user = make_funded_user("100")
    stack(monkeypatch, "10", "10", "7", "9")  # 17 against 19: the stand loses
    game = call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=user.id).body
    before = _outbox_rows()
    ended, statements = _statements_of(
        lambda: call_api("POST", "/api/game/action", body={"gameId": game["id"], "action": "stand"}, user_id=user.id)
    )
    assert ended.status == 200 and ended.body["result"] == "LOSE" and ended.body["balance"] == "90"
    assert len(statements) == 2, statements
    assert _outbox_rows() == before + 2
    with unit_of_work() as uow:
        rows = uow.session.scalars(select(Transaction.type).where(Transaction.user_id == user.id)).all()
    assert sorted(t.value for t in rows) == ["ADMIN_ADJUSTMENT", "GAME_BET"], "the funding and the bet: no payout"


def test_a_payout_already_in_the_ledger_is_not_paid_again_and_the_step_still_lands(db, monkeypatch):
    """The step rides along the payout's statement: when the payout finds its reference already
    applied (and changes nothing), the game's step is still written, and nothing is credited twice."""
    from gbc.data.models import Game, GameMove, Transaction, TransactionType, User
    from gbc.ledger import apply_balance_change
    from tests.support.api import call_api
    from tests.support.shoes import stack

    user = make_funded_user("100")
    stack(monkeypatch, "10", "10", "10", "8")  # 20 against 18: the stand wins 20
    game = call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=user.id).body
    with unit_of_work() as uow:  # the settlement's row, there before the stand
        apply_balance_change(uow, user.id, TransactionType.GAME_WIN, Decimal(20), f"{game['id']}:settle")
    ended = call_api("POST", "/api/game/action", body={"gameId": game["id"], "action": "stand"}, user_id=user.id)
    assert ended.status == 200 and ended.body["state"] == "ENDED"
    with unit_of_work() as uow:
        stored = uow.session.get(Game, uuid.UUID(game["id"]))
        moves = uow.session.scalars(select(GameMove.move).where(GameMove.game_id == stored.id)).all()
        wins = uow.session.scalar(
            select(func.count()).where(Transaction.user_id == user.id, Transaction.type == TransactionType.GAME_WIN)
        )
        balance = uow.session.get(User, user.id).balance
    assert stored.ended_at is not None and list(moves) == ["deal", "stand"]
    assert wins == 1 and balance == Decimal(110), "90 after the bet, 20 credited once"
