"""`make dev` without Node.js: the local chain is left out with a message saying what is missing and
how to add it; everything else starts, and the chain poller's schedule does not run on the timer."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from devstack.prerequisites import missing_for_chain
from devstack.scheduler import Scheduler
from devstack.services import start_services
from devstack.template import load_stack


def _tool(folder: Path, name: str, output: str = "") -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\necho {output}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_without_node_or_npm_it_says_what_is_missing_and_how_to_add_it(tmp_path):
    message = missing_for_chain(path=str(tmp_path))
    assert message is not None
    assert "`node` is not on PATH" in message and "`npm` is not on PATH" in message
    assert "Node.js 20" in message and "nvm install 20" in message and "make dev" in message


def test_an_old_node_is_named_with_its_version(tmp_path):
    _tool(tmp_path, "node", "v18.19.0")
    _tool(tmp_path, "npm")
    message = missing_for_chain(path=str(tmp_path))
    assert message is not None and "Node.js 18, older than 20" in message and "`npm` is not" not in message


def test_node_20_and_npm_are_enough(tmp_path):
    _tool(tmp_path, "node", "v20.11.1")
    _tool(tmp_path, "npm")
    assert missing_for_chain(path=str(tmp_path)) is None


def test_the_stack_starts_without_the_chain_and_forgets_an_old_deployment(tmp_path, monkeypatch):
    # Every other service is given by URL, so nothing is spawned: only the chain decision is made.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/unused")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/10")
    monkeypatch.setenv("SQS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.delenv("CHAIN_RPC_URL", raising=False)
    old = tmp_path / "data" / "chain" / "deployment.json"
    old.parent.mkdir(parents=True)
    old.write_text("{}")
    services = start_services(tmp_path / "data")
    assert "chain" not in services.managed and "CHAIN_RPC_URL" not in services.env
    assert "`node` is not on PATH" in services.unavailable["chain"]
    assert services.describe()["chain"]["running"] is False
    assert not old.exists()  # the dev wallet then answers 503 instead of calling a chain that is gone


class _Calls:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        self.calls.append(logical_id)
        return {"ok": logical_id}


def test_a_paused_schedule_does_not_run_on_the_timer_but_still_on_demand():
    stack = load_stack()
    runtime, logged = _Calls(), []
    scheduler = Scheduler(stack, runtime, logged.append, speed=60, paused={"ChainPollerFunction": "no local chain"})
    scheduler.start()
    try:
        names = {thread.name for thread in scheduler.threads}
        assert "schedule-ChainPollerFunction.Poll" not in names and "schedule-OutboxSweepFunction.Sweep" in names
        assert logged == ["schedule ChainPollerFunction.Poll paused: no local chain"]
        assert scheduler.run("ChainPollerFunction.Poll") == {"ok": "ChainPollerFunction"}
    finally:
        scheduler.stop()
