"""GET /api/health: database, cache and queue status. No secrets, no URLs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from gbc.cache import cache_stats
from gbc.data.database import get_engine
from gbc.queue.status import get_queue_stats
from gbc.settings import get_settings


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as exc:  # health reports failures, it never raises them
        result = {"ok": False, "error": type(exc).__name__}
    result["latencyMs"] = round((time.perf_counter() - start) * 1000, 2)
    return result


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


def health_report() -> tuple[dict[str, Any], int]:
    """The report and its HTTP status: 503 when the database (the system of record) is unreachable,
    so a monitor can tell; 200 otherwise, "degraded" listing what else is down (the cache and the
    queue each have a fallback)."""
    checks = {"database": _timed(_database), "cache": _timed(_cache), "queue": _timed(_queue)}
    failing = [name for name, check in checks.items() if not check["ok"]]
    if "database" in failing:
        status, code = "unavailable", 503
    else:
        status, code = ("degraded", 200) if failing else ("ok", 200)
    return {"status": status, "version": get_settings().app_version, "failing": failing, **checks}, code
