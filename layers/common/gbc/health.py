"""GET /api/health: database, cache and queue status. No secrets, no URLs."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import ConfigDict, Field
from sqlalchemy import text

from gbc.cache import cache_stats
from gbc.data.database import get_engine
from gbc.queue.status import get_queue_stats
from gbc.settings import get_settings
from gbc.views import View


class HealthCheck(View):
    """One dependency's check. A passing check also carries that dependency's figures (the cache's
    connected, totalKeys, memory, hitRate, circuitOpen; the queue's available, waiting, active,
    delayed, dlq, completed, failed); a failing one the exception's type name as `error`."""

    model_config = ConfigDict(extra="allow")

    ok: bool
    error: str | None = Field(default=None, exclude_if=lambda value: value is None)
    latency_ms: float


Status = Literal["ok", "degraded", "unavailable"]


class HealthReport(View):
    """ "unavailable" (HTTP 503) when the database is unreachable; "degraded" (200) when the cache or
    the queue is down (each has a fallback), listed in `failing`."""

    status: Status
    version: str
    failing: list[str]
    database: HealthCheck
    cache: HealthCheck
    queue: HealthCheck


def _timed(check: Callable[[], dict[str, Any]]) -> HealthCheck:
    start = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as exc:  # health reports failures, it never raises them
        result = {"ok": False, "error": type(exc).__name__}
    return HealthCheck.model_validate({**result, "latencyMs": round((time.perf_counter() - start) * 1000, 2)})


def _database() -> dict[str, Any]:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return {}


def _cache() -> dict[str, Any]:
    return cache_stats()


def _queue() -> dict[str, Any]:
    stats = get_queue_stats()
    if not stats["available"]:
        raise ConnectionError("SQS unavailable")
    return stats


def health_report() -> tuple[HealthReport, int]:
    """The report and its HTTP status: 503 when the database (the system of record) is unreachable,
    so a monitor can tell; 200 otherwise, "degraded" listing what else is down (the cache and the
    queue each have a fallback)."""
    # The three at once: a report waits for the slowest dependency, not for the sum of them.
    with ThreadPoolExecutor(max_workers=3) as pool:
        database, cache, queue = pool.map(_timed, (_database, _cache, _queue))
    failing = [name for name, check in (("database", database), ("cache", cache), ("queue", queue)) if not check.ok]
    status: Status = "unavailable" if not database.ok else "degraded" if failing else "ok"
    report = HealthReport(
        status=status, version=get_settings().app_version, failing=failing, database=database, cache=cache, queue=queue
    )
    return report, 503 if status == "unavailable" else 200
