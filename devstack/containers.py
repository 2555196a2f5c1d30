"""Lambda containers for the local stack: each function gets a small pool of worker processes, and a
container serves one invocation at a time, as in Lambda. Module-level state (the Powertools resolver,
its current event, connection pools) is per container, so concurrent requests never share it; the
first request a container serves pays its cold start (imports), later ones find it warm.

A container is trusted only while nothing went wrong in it: one whose handler raised, whose process
died (killed, crashed) or that ran past the function's Timeout (killed then, as Lambda does) is
discarded, and the next invocation starts a fresh one, so the pool never shrinks for good.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from devstack.metrics_file import route_metric_lines
from devstack.runtime import LocalContext
from devstack.template import Function

STOP_SECONDS = 3.0
SEND_ATTEMPTS = 3
# Lambda gives a new container's init (the imports) its own 10 s besides the function's Timeout;
# here init happens in the first invocation, so that one gets both.
INIT_SECONDS = 10.0
DRAIN_POLL_SECONDS = 0.002


# The niceness of containers no request waits for (ContainerPool.background): CFS gives them weight
# 110 against a request's 1024. DEVSTACK_BACKGROUND_NICE=0 runs them like the others.
BACKGROUND_NICE = int(os.environ.get("DEVSTACK_BACKGROUND_NICE", "10"))


class InvocationError(Exception):
    """A handler raised; str() is its message, as Lambda reports errorMessage."""

    def __init__(self, error_type: str, message: str, trace: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.trace = trace


class ContainerDied(InvocationError):
    """The container's process ended during the invocation (Lambda's Runtime.ExitError)."""


class InvocationTimeout(InvocationError):
    """The invocation ran past the function's Timeout; the container was killed (Sandbox.Timedout)."""


class PoolStopped(RuntimeError):
    """The stack is stopping: no new invocation starts."""


def _serve(conn: Connection, env: dict[str, str], fn: Function, nice: int = 0) -> None:
    """A container's main loop (in the child process). Work a handler left for after its response
    (gbc.after_response) runs once the response is sent, before the next invocation is read, the
    way Lambda's internal extension holds the environment until it is done."""
    if nice:
        os.nice(nice)
    os.environ.update(env)
    route_metric_lines()  # EMF lines to the stack's metrics file, not the console (devstack.metrics_file)
    os.environ.setdefault("GBC_AFTER_RESPONSE", "host")
    module_name, attr = fn.handler.rsplit(".", 1)
    handler = None
    while True:
        try:
            event = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if event is None:
            return
        try:
            if handler is None:
                handler = getattr(importlib.import_module(module_name), attr)
            answer: tuple[Any, ...] = ("ok", handler(event, LocalContext(fn.logical_id, fn.memory, fn.timeout)))
        except Exception as exc:
            answer = ("error", type(exc).__name__, str(exc), traceback.format_exc())
        if not _work_left():
            conn.send((*answer, "drained"))  # nothing for after the response: free at once
            continue
        conn.send(answer)
        _after_the_response(0 if nice else BACKGROUND_NICE)
        conn.send(("drained",))  # free for the next invocation (Lambda: the extension asked for /next)


def _work_left() -> bool:
    after_response = sys.modules.get("gbc.after_response")
    return after_response is not None and bool(after_response.pending())


def _after_the_response(nice: int) -> None:
    """Run what the handler left for after its response. In AWS that is the extension's thread in the
    function's own environment, which shares no CPU with API Gateway still sending the response;
    here it shares the machine with the gateway and the client, so it runs in a niced thread (Linux
    sets niceness per thread) unless the whole container is niced already."""
    after_response = sys.modules.get("gbc.after_response")
    if after_response is None:
        return
    if nice <= 0:
        after_response.drain()
        return
    thread = threading.Thread(target=_niced, args=(after_response.drain, nice), name="after-response")
    thread.start()
    thread.join()


def _niced(work: Callable[[], None], nice: int) -> None:
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):  # a thread id is no process id outside Linux: run it unniced
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    work()


class _Container:
    def __init__(self, ctx: Any, env: dict[str, str], fn: Function, nice: int = 0) -> None:
        self.fn = fn
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(child, env, fn, nice), name=f"lambda-{fn.logical_id}", daemon=True
        )
        self.process.start()
        child.close()
        self.busy = False
        self.warm = False
        self.draining = False  # answered; running its post-response work (not yet free)
        self.last_used = 0.0  # when it last answered: the most recently used free container runs next
        self.drained_with_answer = False  # its answer said it has nothing to run after the response

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def send(self, event: dict[str, Any]) -> None:
        """Hand over the event; OSError (a broken pipe) means the handler never got it."""
        self.conn.send(event)

    def result(self) -> Any:
        """Wait for the handler's answer, at most the function's Timeout."""
        limit = self.fn.timeout + (0.0 if self.warm else INIT_SECONDS)
        try:
            if not self.conn.poll(limit):
                self.kill()
                raise InvocationTimeout("Sandbox.Timedout", f"Task timed out after {self.fn.timeout:.2f} seconds", "")
            status, *rest = self.conn.recv()
            self.warm = True
            if rest and rest[-1] == "drained":  # it had nothing to run after its response
                rest.pop()
                self.drained_with_answer = True
        except (EOFError, OSError) as exc:
            self.process.join(timeout=1)
            raise ContainerDied(
                "Runtime.ExitError", f"Runtime exited with error: exit status {self.process.exitcode}", repr(exc)
            ) from exc
        if status == "error":
            raise InvocationError(*rest)
        return rest[0]

    def drained(self) -> bool | None:
        """Whether its post-response work is done (True), still running (False), or it died (None)."""
        try:
            if not self.conn.poll(0):
                return False
            self.conn.recv()
        except (EOFError, OSError):
            return None
        self.draining = False
        return True

    def ask_to_stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.join(timeout=2)
        self.conn.close()


def _why(error: Exception | None) -> str:
    if isinstance(error, InvocationTimeout):
        return "timed out (killed)"
    if isinstance(error, ContainerDied | OSError):
        return f"died mid-invocation ({error})"
    return f"saw {type(error).__name__}" if error else "stopping"


class ContainerPool:
    """Up to `size` containers per function, created on demand; an invocation waits for a free one."""

    def __init__(
        self,
        functions: dict[str, Function],
        env: dict[str, str],
        size: int,
        log: Callable[[str], None] | None = None,
        answers: dict[str, set[str]] | None = None,
        background: frozenset[str] = frozenset(),
    ) -> None:
        self.functions, self.env, self.size = functions, env, size
        # Functions no request waits for (queue workers, schedules, the notifier). In AWS each
        # function has capacity of its own; on one machine their containers run niced, so a request
        # gets the CPU first, as it would beside them in the cloud.
        self.background = background
        self.log = log or (lambda message: None)
        # Errors that are a function's answer rather than a fault, by function: a TOKEN authorizer
        # raises "Unauthorized" to get a 401. A container that gave one is kept (warm).
        self.answers = answers or {}
        self._ctx = multiprocessing.get_context("spawn")  # a clean interpreter, like a new container
        self._idle: dict[str, list[_Container]] = defaultdict(list)
        self._all: dict[str, list[_Container]] = defaultdict(list)
        self._discarded: dict[str, int] = defaultdict(int)
        self._cond = threading.Condition()
        self._stopping = False

    def _acquire(self, logical_id: str) -> _Container:
        with self._cond:
            while True:
                if self._stopping:
                    raise PoolStopped("the local stack is stopping")
                self._sweep(logical_id)
                if self._idle[logical_id]:
                    # The most recently used, as Lambda reuses environments: a warm process (its caches,
                    # its connections) rather than whichever was freed last.
                    idle = self._idle[logical_id]
                    container = max(idle, key=lambda c: c.last_used)
                    idle.remove(container)
                    container.busy = True
                    return container
                if len(self._all[logical_id]) < self.size:
                    container = _Container(
                        self._ctx,
                        self.env,
                        self.functions[logical_id],
                        BACKGROUND_NICE if logical_id in self.background else 0,
                    )
                    container.busy = True
                    self._all[logical_id].append(container)
                    return container
                # Every container is busy, or still running its post-response work: as Lambda,
                # wait for one to be done (a drain is looked at again every few milliseconds; a
                # busy container notifies when it is released).
                draining = any(c.draining for c in self._all[logical_id])
                self._cond.wait(timeout=DRAIN_POLL_SECONDS if draining else None)

    def _sweep(self, logical_id: str) -> None:
        """Free the containers whose post-response work is done; discard the ones whose process died
        (killed, crashed) while they waited or drained."""
        idle = self._idle[logical_id]
        for container in [c for c in self._all[logical_id] if c.draining]:
            done = container.drained()
            if done:
                idle.append(container)
            elif done is None:
                self._forget(logical_id, container, "died after answering")
        for container in [c for c in idle if not c.alive()]:
            self._forget(logical_id, container, f"found dead (exit {container.process.exitcode})")

    def _forget(self, logical_id: str, container: _Container, why: str, quiet: bool = False) -> None:
        """Take a container out of the pool (under the lock) and kill it; a new one takes its place
        on the next invocation."""
        with contextlib.suppress(ValueError):
            self._all[logical_id].remove(container)
        with contextlib.suppress(ValueError):
            self._idle[logical_id].remove(container)
        self._discarded[logical_id] += 1
        container.kill()
        if not quiet:
            self.log(f"{logical_id} container {container.pid} {why}: discarded, the next invocation starts a new one")
        self._cond.notify()

    def _release(self, logical_id: str, container: _Container, error: Exception | None) -> None:
        with self._cond:
            container.busy = False
            container.last_used = time.monotonic()
            if self._is_answer(logical_id, error) and not self._stopping:
                if container.drained_with_answer:
                    container.drained_with_answer = False
                    self._idle[logical_id].append(container)  # free at once: nothing after its response
                else:
                    container.draining = True  # free once it says its post-response work is done (_sweep)
                self._cond.notify()
            elif container in self._all[logical_id]:
                # A handler that raised is the handler's news (the caller reports it); the rest are ours.
                handler_raised = type(error) is InvocationError
                self._forget(logical_id, container, _why(error), quiet=handler_raised)

    def _is_answer(self, logical_id: str, error: Exception | None) -> bool:
        if error is None:
            return True
        return type(error) is InvocationError and str(error) in self.answers.get(logical_id, ())

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        for _attempt in range(SEND_ATTEMPTS):
            container = self._acquire(logical_id)
            try:
                container.send(event)
                break
            except OSError as exc:
                # Died before it got the event: the handler never ran, so another container may run it.
                self._release(logical_id, container, exc)
        else:
            raise ContainerDied("Runtime.ExitError", f"no {logical_id} container took the event", "")
        error: Exception | None = None
        try:
            return container.result()
        except Exception as exc:
            error = exc
            raise
        finally:
            self._release(logical_id, container, error)

    def kill(self, logical_id: str) -> dict[str, Any]:
        """SIGKILL one container of the function, a busy one if any (its invocation fails as a
        crashed runtime), else one running its post-response work (the outbox sweep delivers what it
        had not sent), else an idle one (taken out at once). KeyError: no such function;
        LookupError: it has no container running."""
        if logical_id not in self.functions:
            raise KeyError(logical_id)
        with self._cond:
            self._sweep(logical_id)
            group = self._all[logical_id]
            candidates = (
                [c for c in group if c.busy] or [c for c in group if c.draining] or list(self._idle[logical_id])
            )
            if not candidates:
                raise LookupError(f"{logical_id} has no container running")
            container = candidates[0]
            running = container.busy
            with contextlib.suppress(ProcessLookupError):
                os.kill(container.pid, signal.SIGKILL)
            if not running:  # idle, or answered and running its post-response work: out at once
                self._forget(logical_id, container, "killed on request")
        return {"function": logical_id, "pid": container.pid, "busy": running}

    def describe(self) -> dict[str, dict[str, Any]]:
        with self._cond:
            for logical_id in self.functions:
                self._sweep(logical_id)
            return {
                logical_id: {
                    "size": self.size,
                    "pids": [c.pid for c in self._all[logical_id]],
                    "busy": [c.pid for c in self._all[logical_id] if c.busy],
                    "discarded": self._discarded[logical_id],
                }
                for logical_id in self.functions
            }

    def pids(self) -> list[int]:
        with self._cond:
            return [c.pid for group in self._all.values() for c in group]

    def stop(self) -> None:
        """Stop every container: each is asked to exit, and killed when it has not within
        STOP_SECONDS (one still running a handler); no new one starts from now on."""
        with self._cond:
            self._stopping = True
            containers = [c for group in self._all.values() for c in group]
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for container in containers:
            container.ask_to_stop()
        deadline = time.monotonic() + STOP_SECONDS
        for container in containers:
            container.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if container.alive():
                container.kill()
