"""Faults under load on a stack of its own: Redis and the SQS emulator killed, PostgreSQL stopped and
started, a Worker and an API container killed mid-request. Nothing lost or doubled, nothing in a
DLQ, no 5xx but 503s during the database outage and the killed container's 502; and a careful
client (Idempotency-Key, retries) is never left with a 5xx, while its retries double nothing."""

from __future__ import annotations

import pytest

from reliability import runs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def report(fault_stack, budgets):
    result = runs.faults(fault_stack, budgets)
    return result


def test_the_stack_offers_the_fault_control_api(report):
    assert not report.get("controlApiMissing"), report.get("controlApiMissing")


def test_every_service_comes_back_after_its_fault(report):
    assert report["faults"], "no fault was injected"
    assert all(f["recovered"] for f in report["faults"]), report["faults"]


def test_only_the_database_outage_and_the_killed_container_cause_5xx(report):
    assert report["serverErrors"]["unexpected5xx"] == 0, report["serverErrors"]


def test_careful_players_retry_through_the_outage(report):
    assert report["http"]["retries"] > 0, report["http"]
    assert report["load"]["changes"].get("keyed") and report["load"]["changes"].get("keyless"), report["load"]


def test_a_keyed_request_never_ends_in_a_5xx_after_its_retries(report):
    # Keyless changes may still end in a 503 during the outage (they do not retry): allowed.
    assert not report["http"]["final5xx"].get("keyed"), report["http"]["final5xxByRoute"]


def test_nothing_is_lost_or_doubled_by_the_faults(report):
    failing = {name: c for name, c in report["invariants"]["checks"].items() if not c["ok"]}
    assert not failing and not report["invariants"]["drain"].get("timedOut"), (failing, report["invariants"]["drain"])
