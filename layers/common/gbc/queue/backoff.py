"""Retry delay of a failed job, applied as the message's visibility timeout: base * 2^(n-1) seconds
for its n-th receive, with "equal jitter" (half fixed, half random) so retries of a burst spread out
but never shrink, capped."""

from __future__ import annotations

import random

_rng = random.Random()  # noqa: S311 - jitter, not cryptography

SQS_MAX_VISIBILITY = 43_200


def visibility_delay(receive_count: int, base: int, cap: int) -> int:
    ceiling = min(cap, base * 2 ** max(0, receive_count - 1), SQS_MAX_VISIBILITY)
    half = ceiling / 2
    return max(1, round(half + _rng.uniform(0, half)))
