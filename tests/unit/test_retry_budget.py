"""The retry budget of a failed job, from the template's redrive policy and the code's backoff
settings (so neither can drift from the other): it must outlast a 60 s database outage."""

from __future__ import annotations

import json
import random

import pytest

from devstack.template import load_raw, load_stack
from gbc.queue import backoff
from gbc.settings import Settings

OUTAGE_SECONDS = 60
STACK = load_stack()
RAW = load_raw()


def _backoff_settings() -> tuple[int, int]:
    """The worker's base and cap: the settings' defaults unless the template's environment sets them."""
    env = dict(RAW["Globals"]["Function"]["Environment"]["Variables"])
    env.update(RAW["Resources"]["WorkerFunction"]["Properties"].get("Environment", {}).get("Variables", {}))
    fields = Settings.model_fields
    base = int(env.get("JOB_BACKOFF_BASE_SECONDS", fields["job_backoff_base_seconds"].default))
    cap = int(env.get("JOB_BACKOFF_CAP_SECONDS", fields["job_backoff_cap_seconds"].default))
    return base, cap


def _max_receive_count(queue: str) -> int:
    return int(json.loads(STACK.queues[queue].attributes["RedrivePolicy"])["maxReceiveCount"])


@pytest.mark.parametrize("queue", ["JobsQueue", "PriorityQueue"])
def test_a_failing_job_is_retried_for_longer_than_a_60_second_outage_before_the_dlq(queue):
    base, cap = _backoff_settings()
    window = backoff.guaranteed_retry_window(_max_receive_count(queue), base, cap)
    assert window >= OUTAGE_SECONDS, f"{queue}: only {window}s between the first and the last receive"


def test_both_queues_have_the_same_receive_count():
    assert _max_receive_count("JobsQueue") == _max_receive_count("PriorityQueue")


def test_the_chosen_budget_is_91_seconds_at_least():
    # maxReceiveCount 8, base 2, cap 60: ceilings 2 4 8 16 32 60 60, halves 1 2 4 8 16 30 30.
    assert backoff.guaranteed_retry_window(8, 2, 60) == 91
    assert (_max_receive_count("JobsQueue"), *_backoff_settings()) == (8, 2, 60)


def test_the_minimum_delay_is_a_true_lower_bound_of_the_jittered_delay(monkeypatch):
    monkeypatch.setattr(backoff, "_rng", random.Random(3))
    for receive in range(1, 12):
        floor = backoff.minimum_delay(receive, 2, 60)
        delays = [backoff.visibility_delay(receive, 2, 60) for _ in range(200)]
        assert min(delays) >= floor and max(delays) <= min(60, 2 * 2 ** (receive - 1))


def test_the_minimum_delay_is_reached_when_the_jitter_is_zero(monkeypatch):
    class NoJitter(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return a

    monkeypatch.setattr(backoff, "_rng", NoJitter())
    assert [backoff.visibility_delay(n, 2, 60) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
