"""Work that runs after the response: the caller gets its answer as soon as the transaction has
committed and the cache is consistent for it; what only the rest of the system waits for (the
outbox's SQS publish and cleanup) runs afterwards.

A handler wrapped with `@after_the_response` collects what its request `defer()`s and hands it, once
per invocation, to one of three runners, chosen when the function starts:

- **In AWS**, an internal Lambda extension (a thread of this process, registered for INVOKE events;
  AWS Compute Blog, "Running code after returning a response from an AWS Lambda function"): its
  `/extension/event/next` call is what tells Lambda it is done, so it makes that call only after
  running the invocation's work. Lambda sends the response when the handler returns and freezes
  the environment only once the extension asks for the next event: the work is never frozen
  mid-send.
- **In the local stack**, the container (devstack/containers.py) sends the response first and runs
  the work before it reads its next invocation (`GBC_AFTER_RESPONSE=host`).
- **Anywhere else** (tests, one-off invokes, a failed registration) the work runs before the
  handler returns, as it always did.

A process that dies after the response loses nothing: the work is the outbox's delivery, whose rows
are committed, and the scheduled sweep sends what nobody sent. Outside a wrapped handler (the
worker, the poller) `defer` runs the work at once.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import urllib3

from gbc.observability import logger

Work = Callable[[], None]
H = TypeVar("H", bound=Callable[..., Any])

EXTENSION_NAME = "gbc-after-response"
_pending: ContextVar[list[Work] | None] = ContextVar("after_response_pending", default=None)


def defer(work: Work) -> None:
    """Run `work` after the response of the current invocation (at once outside one)."""
    pending = _pending.get()
    if pending is None:
        run_all([work])
    else:
        pending.append(work)


def run_all(works: list[Work]) -> None:
    for work in works:
        # The response is sent (or about to be): a failure here must not fail the request. What the
        # work was for (the outbox) has its own safety net.
        try:
            work()
        except Exception:
            logger.exception("work after the response failed", extra={"work": getattr(work, "__name__", repr(work))})


class _Inline:
    name = "inline"

    def submit(self, works: list[Work]) -> None:
        run_all(works)


class _Host:
    """The local stack's container drains after it has sent the response (`drain`)."""

    name = "host"

    def __init__(self) -> None:
        self.queued: list[Work] = []

    def submit(self, works: list[Work]) -> None:
        self.queued.extend(works)

    def drain(self) -> None:
        works, self.queued = self.queued, []
        run_all(works)


class _Extension:
    """An internal Lambda extension: one work list per invocation, run before asking for the next."""

    name = "extension"

    def __init__(self, runtime_api: str) -> None:
        self.base = f"http://{runtime_api}/2020-01-01/extension"
        self.http = urllib3.PoolManager(maxsize=1, retries=False)
        response = self.http.request(
            "POST",
            f"{self.base}/register",
            body=json.dumps({"events": ["INVOKE"]}).encode(),
            headers={"Lambda-Extension-Name": EXTENSION_NAME, "Content-Type": "application/json"},
            timeout=5.0,
        )
        if response.status != 200:
            raise RuntimeError(f"extension registration answered {response.status}")
        self.identifier = response.headers["Lambda-Extension-Identifier"]
        self.works: queue.SimpleQueue[list[Work]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name=EXTENSION_NAME, daemon=True).start()

    def submit(self, works: list[Work]) -> None:
        self.works.put(works)

    def _next_event(self) -> dict[str, Any]:
        """Blocks (no timeout) until Lambda has the next invocation; asking is saying "done"."""
        response = self.http.request(
            "GET", f"{self.base}/event/next", headers={"Lambda-Extension-Identifier": self.identifier}, timeout=None
        )
        event: dict[str, Any] = json.loads(response.data or b"{}")
        return event

    def _loop(self) -> None:
        while True:
            try:
                self._next_event()  # an INVOKE: the handler is running (or about to)
            except Exception:  # the Runtime API hiccuped: ask again (never stop asking, or Lambda waits)
                logger.exception("the after-response extension could not get the next event")
                time.sleep(0.05)
                continue
            run_all(self.works.get())  # what it left for after its response (every invocation leaves a list)


_runner: _Inline | _Host | _Extension | None = None
_lock = threading.Lock()


def runner() -> _Inline | _Host | _Extension:
    """The runner of this process, chosen once: GBC_AFTER_RESPONSE (inline, host) forces one;
    otherwise the extension where the Lambda Runtime API is, inline elsewhere."""
    global _runner
    with _lock:
        if _runner is None:
            choice = os.environ.get("GBC_AFTER_RESPONSE", "")
            api = os.environ.get("AWS_LAMBDA_RUNTIME_API")
            if choice == "host":
                _runner = _Host()
            elif choice == "inline" or not api:
                _runner = _Inline()
            else:
                try:
                    _runner = _Extension(api)
                except Exception:
                    logger.exception("could not register the after-response extension; work runs before responding")
                    _runner = _Inline()
        return _runner


def drain() -> None:
    """The local stack's container: run what the last invocation left (after its response is sent)."""
    if isinstance(_runner, _Host):
        _runner.drain()


def pending() -> bool:
    """The local stack's container: whether the last invocation left work for after its response."""
    return isinstance(_runner, _Host) and bool(_runner.queued)


def after_the_response(handler: H) -> H:
    """Wrap a Lambda handler: what it defers runs after its response. Every invocation hands over
    exactly one list (maybe empty), which the extension waits for before it lets Lambda freeze."""
    chosen = runner()  # at init, so an extension registers before the first invocation

    @functools.wraps(handler)
    def wrapped(event: Any, context: Any) -> Any:
        works: list[Work] = []
        token = _pending.set(works)
        try:
            return handler(event, context)
        finally:
            _pending.reset(token)
            chosen.submit(works)

    return wrapped  # type: ignore[return-value]
