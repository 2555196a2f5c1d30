"""Latency summaries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(sorted_ms: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    if not sorted_ms:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


def summarize(samples_ms: Sequence[float], wall_s: float, errors: int = 0) -> dict[str, Any]:
    ordered = sorted(samples_ms)
    return {
        "n": len(ordered),
        "errors": errors,
        "p50_ms": round(percentile(ordered, 50), 3),
        "p95_ms": round(percentile(ordered, 95), 3),
        "p99_ms": round(percentile(ordered, 99), 3),
        "mean_ms": round(sum(ordered) / len(ordered), 3) if ordered else math.nan,
        "throughput_rps": round(len(ordered) / wall_s, 1) if wall_s > 0 else math.nan,
    }
