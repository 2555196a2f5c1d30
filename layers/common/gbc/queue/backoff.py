"""Retry delay of a failed job, applied as the message's visibility timeout: base * 2^(n-1) seconds
for its n-th receive, with "equal jitter" (half fixed, half random) so retries of a burst spread out
but never shrink, capped.

The retry budget: a job is received at most maxReceiveCount times (the queues' redrive policy), so
the time between its first and last receive is at least `guaranteed_retry_window(...)`, the sum of
the minimum (half-ceiling) delays after receives 1 .. maxReceiveCount-1. With maxReceiveCount 8,
base 2 s and cap 60 s that is 1+2+4+8+16+30+30 = 91 s (at most 182 s): a job outlasts a 60 s
database outage before it reaches the DLQ.
"""

from __future__ import annotations

import random

_rng = random.Random()  # noqa: S311 - jitter, not cryptography

SQS_MAX_VISIBILITY = 43_200


def _ceiling(receive_count: int, base: int, cap: int) -> int:
    return min(cap, base * (1 << max(0, receive_count - 1)), SQS_MAX_VISIBILITY)


def visibility_delay(receive_count: int, base: int, cap: int) -> int:
    half = _ceiling(receive_count, base, cap) / 2
    return max(1, round(half + _rng.uniform(0, half)))


def minimum_delay(receive_count: int, base: int, cap: int) -> int:
    """The shortest delay `visibility_delay` can return (its jitter at zero)."""
    return max(1, round(_ceiling(receive_count, base, cap) / 2))


def guaranteed_retry_window(max_receive_count: int, base: int, cap: int) -> int:
    """Seconds that at least pass between a job's first receive and its last before the DLQ."""
    return sum(minimum_delay(n, base, cap) for n in range(1, max_receive_count))
