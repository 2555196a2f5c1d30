"""Lambda containers for the local stack: each function gets a small pool of worker processes, and a
container serves one invocation at a time, as in Lambda. Module-level state (the Powertools resolver,
its current event, connection pools) is per container, so concurrent requests never share it; the
first request a container serves pays its cold start (imports), later ones find it warm.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import threading
import traceback
from collections import defaultdict
from multiprocessing.connection import Connection
from typing import Any

from devstack.runtime import LocalContext
from devstack.template import Function


class InvocationError(Exception):
    """A handler raised; str() is its message, as Lambda reports errorMessage."""

    def __init__(self, error_type: str, message: str, trace: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.trace = trace


def _serve(conn: Connection, env: dict[str, str], fn: Function) -> None:
    """A container's main loop (in the child process)."""
    os.environ.update(env)
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
            conn.send(("ok", handler(event, LocalContext(fn.logical_id, fn.memory, fn.timeout))))
        except Exception as exc:
            conn.send(("error", type(exc).__name__, str(exc), traceback.format_exc()))


class _Container:
    def __init__(self, ctx: Any, env: dict[str, str], fn: Function) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, env, fn), name=f"lambda-{fn.logical_id}", daemon=True)
        self.process.start()
        child.close()

    def invoke(self, event: dict[str, Any]) -> Any:
        self.conn.send(event)
        status, *rest = self.conn.recv()
        if status == "error":
            raise InvocationError(*rest)
        return rest[0]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=3)
        if self.process.is_alive():
            self.process.terminate()


class ContainerPool:
    """Up to `size` containers per function, created on demand; an invocation waits for a free one."""

    def __init__(self, functions: dict[str, Function], env: dict[str, str], size: int) -> None:
        self.functions, self.env, self.size = functions, env, size
        self._ctx = multiprocessing.get_context("spawn")  # a clean interpreter, like a new container
        self._idle: dict[str, list[_Container]] = defaultdict(list)
        self._all: dict[str, list[_Container]] = defaultdict(list)
        self._cond = threading.Condition()

    def _acquire(self, logical_id: str) -> _Container:
        with self._cond:
            while True:
                if self._idle[logical_id]:
                    return self._idle[logical_id].pop()
                if len(self._all[logical_id]) < self.size:
                    container = _Container(self._ctx, self.env, self.functions[logical_id])
                    self._all[logical_id].append(container)
                    return container
                self._cond.wait()

    def _release(self, logical_id: str, container: _Container) -> None:
        with self._cond:
            self._idle[logical_id].append(container)
            self._cond.notify()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        container = self._acquire(logical_id)
        try:
            return container.invoke(event)
        finally:
            self._release(logical_id, container)

    def stop(self) -> None:
        with self._cond:
            containers = [c for group in self._all.values() for c in group]
        for container in containers:
            container.stop()
