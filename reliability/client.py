"""A thread-safe HTTP client for the drivers: every request is counted by route and status, 5xx are
kept with their time (so a fault window can excuse them) and a short body."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import urllib3

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def route_of(method: str, path: str) -> str:
    """`GET /api/game/{id}` for every game id: counts group by route, not by URL."""
    path = path.split("?", 1)[0]
    return f"{method} {_UUID.sub('{id}', path)}"


@dataclass
class Response:
    status: int
    body: Any
    raw: bytes
    headers: dict[str, str]
    elapsed: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class ServerError:
    at: float  # time.monotonic()
    route: str
    status: int
    body: str


@dataclass
class Tally:
    """Counts shared by every thread of a run."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    server_errors: list[ServerError] = field(default_factory=list)
    transport_errors: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, status: int, elapsed: float, body: bytes) -> None:
        with self.lock:
            self.requests[route] += 1
            self.statuses[route][status] += 1
            self.latencies[route].append(elapsed)
            if status >= 500:
                self.server_errors.append(
                    ServerError(time.monotonic(), route, status, body[:300].decode(errors="replace"))
                )

    def record_transport_error(self, route: str, exc: BaseException) -> None:
        with self.lock:
            self.requests[route] += 1
            self.transport_errors[f"{route}: {type(exc).__name__}"] += 1

    def summary(self) -> dict[str, Any]:
        with self.lock:
            five = Counter(f"{e.route} {e.status}" for e in self.server_errors)
            p95 = {}
            for route, values in self.latencies.items():
                ordered = sorted(values)
                p95[route] = round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1) if ordered else None
            return {
                "requests": sum(self.requests.values()),
                "byRoute": dict(sorted(self.requests.items())),
                "statusesByRoute": {r: dict(sorted(c.items())) for r, c in sorted(self.statuses.items())},
                "serverErrors": sum(five.values()),
                "serverErrorsByRoute": dict(sorted(five.items())),
                "transportErrors": dict(self.transport_errors),
                "p95msByRoute": dict(sorted(p95.items())),
            }


class Client:
    def __init__(self, base: str, tally: Tally | None = None, timeout: float = 30, pool: int = 64) -> None:
        self.base = base
        self.tally = tally if tally is not None else Tally()
        self.http = urllib3.PoolManager(
            num_pools=4, maxsize=pool, block=False, retries=False, timeout=urllib3.Timeout(connect=5, read=timeout)
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        route: str | None = None,
        record: bool = True,
    ) -> Response:
        sent = {"Content-Type": "application/json"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        route = route or route_of(method, path)
        started = time.perf_counter()
        try:
            answer = self.http.request(method, self.base + path, body=data, headers=sent, preload_content=True)
        except Exception as exc:
            if record:
                self.tally.record_transport_error(route, exc)
            raise
        elapsed = time.perf_counter() - started
        content = answer.data or b""
        if record:
            self.tally.record(route, answer.status, elapsed, content)
        try:
            parsed: Any = json.loads(content) if content else None
        except ValueError:
            parsed = content.decode(errors="replace")
        return Response(answer.status, parsed, content, dict(answer.headers), elapsed)

    def get(self, path: str, token: str | None = None, **kw: Any) -> Response:
        return self.request("GET", path, token=token, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Response:
        return self.request("POST", path, body, token, **kw)
