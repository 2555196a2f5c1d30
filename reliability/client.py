"""A thread-safe HTTP client for the drivers: every request is counted by route and status, 5xx are
kept with their time (so a fault window can excuse them) and a short body.

`Client.send` is the careful client's call: the body is encoded once, an `Idempotency-Key` rides
along when given, and with a `RetryPolicy` the same request (same bytes, same key) is sent again
after a 503 with Retry-After, a 502 or a transport error, until another answer or the policy's
budget. Each attempt counts in the raw tally; the request's final outcome counts once more, apart."""

from __future__ import annotations

# ruff: noqa: S311 - backoff jitter needs no secrecy
import json
import random
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import urllib3

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# What "no answer" looks like through urllib3 with retries=False: resets, timeouts, refused connections.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (urllib3.exceptions.HTTPError, OSError)

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

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def replayed(self) -> bool:
        return (self.header(REPLAYED_HEADER) or "").lower() == "true"


@dataclass(frozen=True)
class RetryPolicy:
    """Retry only what is safe to send again: a 503 that says so (Retry-After: the database was out,
    or a keyed COMMIT was lost), a 502 (the container died; the key makes a second run harmless) and
    no answer at all. Capped in total so a 30 s database outage is survived but nothing spins forever."""

    budget: float = 60.0
    first_backoff: float = 0.25
    max_backoff: float = 4.0

    def delay(self, attempt: int, answer: Response | None) -> float | None:
        """Seconds to wait before sending again, or None when this answer is final."""
        if answer is not None and answer.status == 503:
            after = answer.header("Retry-After")
            if after is None:
                return None  # a lost COMMIT without a key: only the caller can tell whether it applied
            try:
                wait = float(after)
            except ValueError:
                wait = self.first_backoff
            return wait + random.uniform(0, 0.25)  # a little spread, so the players do not return in step
        if answer is not None and answer.status != 502:
            return None
        backoff = min(self.max_backoff, self.first_backoff * 2**attempt)
        return random.uniform(backoff / 2, backoff)


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
    # Per request sent with Client.send, after its retries: "keyed"/"keyless" -> how it ended.
    sent: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    replays: Counter[str] = field(default_factory=Counter)
    gave_up: Counter[str] = field(default_factory=Counter)
    final_failures: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
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

    def record_retry(self, route: str) -> None:
        with self.lock:
            self.retries[route] += 1

    def record_final(self, route: str, kind: str, answer: Response | None, gave_up: bool) -> None:
        """`kind` is "keyed", "keyless" (a change without a key) or "read"."""
        with self.lock:
            self.sent[kind] += 1
            if gave_up:
                self.gave_up[route] += 1
            if answer is not None and answer.replayed:
                self.replays[route] += 1
            if answer is None:
                self.final_failures[kind][f"{route} transport"] += 1
            elif answer.status >= 500:
                self.final_failures[kind][f"{route} {answer.status}"] += 1

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
                "sent": dict(sorted(self.sent.items())),
                "retries": sum(self.retries.values()),
                "retriesByRoute": dict(sorted(self.retries.items())),
                "replays": sum(self.replays.values()),
                "replaysByRoute": dict(sorted(self.replays.items())),
                "gaveUpByRoute": dict(sorted(self.gave_up.items())),
                # 5xx and missing answers the caller was left with, after any retries.
                "final5xx": {k: sum(v.values()) for k, v in sorted(self.final_failures.items())},
                "final5xxByRoute": {k: dict(sorted(v.items())) for k, v in sorted(self.final_failures.items())},
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

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        *,
        key: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> Response | None:
        """One intended request with its retries; None when the last attempt got no answer."""
        # Encoded once: the key's fingerprint covers the exact bytes, so a retry must resend them.
        data = json.dumps(body).encode() if body is not None else None
        headers = {IDEMPOTENCY_HEADER: key} if key else None
        route = route_of(method, path)
        kind = "read" if method == "GET" else "keyed" if key else "keyless"
        deadline = time.monotonic() + (retry.budget if retry else 0)
        attempt = 0
        while True:
            answer: Response | None
            try:
                answer = self.request(method, path, token=token, raw=data, headers=headers, route=route)
            except TRANSPORT_ERRORS:
                answer = None
            wait = retry.delay(attempt, answer) if retry else None
            if wait is None or time.monotonic() + wait > deadline:
                self.tally.record_final(route, kind, answer, gave_up=wait is not None and retry is not None)
                return answer
            self.tally.record_retry(route)
            time.sleep(wait)
            attempt += 1

    def get(self, path: str, token: str | None = None, **kw: Any) -> Response:
        return self.request("GET", path, token=token, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Response:
        return self.request("POST", path, body, token, **kw)
