"""Concurrent signed-in players doing the full mix; then the money, queue, audit and stats invariants
in PostgreSQL and SQS."""

from __future__ import annotations

import pytest

from reliability import runs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def report(reliability_stack, budgets):
    result = runs.load(reliability_stack, budgets)
    return result


def test_players_play_every_kind_of_action(report):
    assert report["rounds"] > 0
    assert {"hit", "stand", "double_down", "split", "surrender"} <= set(report["actions"]), report["actions"]


def test_no_request_under_load_gets_a_server_error(report):
    assert report["http"]["serverErrors"] == 0, report["http"]["serverErrorsByRoute"]
    assert not report["http"]["transportErrors"], report["http"]["transportErrors"]


def test_keyed_and_keyless_players_both_change_state(report):
    assert report["clients"]["careful"] and report["clients"]["keyless"], report["clients"]
    assert report["changes"].get("keyed") and report["changes"].get("keyless"), report["changes"]


def test_the_queues_drain_after_the_load(report):
    assert not report["invariants"]["drain"].get("timedOut"), report["invariants"]["drain"]


@pytest.mark.parametrize(
    "check",
    [
        "balance = sum(ledger) for every user",
        "balance chain (balance_before = previous balance_after)",
        "every game bet once; every ended game settled exactly once (settle row iff win > 0)",
        "each withdrawal and paid purchase debited exactly once, for its amount",
        "outbox empty",
        "DLQs empty and queues drained",
        "one game.end audit row per ended game; one audit row per processed audit job",
        "precomputed totalHands = ended games, per user",
        "one row per change that got a 2xx (games, purchases, withdrawals, deposit intents)",
        "every game's recorded moves = the actions answered 200, in order",
        "one idempotency_keys row per key answered 2xx, with that status and response",
        "the client's last view of each game = GET /api/game/{id}",
    ],
)
def test_the_invariant_holds_after_the_load(report, check):
    result = report["invariants"]["checks"][check]
    assert result["ok"], result
