"""Invoking a function in-process, the way the Lambda runtime would: import its handler module once
(the cold start), then call the handler with the event and a context."""

from __future__ import annotations

import importlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from devstack.template import ACCOUNT, REGION, Function


@dataclass
class LocalContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def apply_environment(env: dict[str, str]) -> None:
    """Set the functions' environment for this process (before any handler is imported)."""
    os.environ.update(env)
    from gbc.settings import get_settings

    get_settings.cache_clear()


class Invoker(Protocol):
    """What calls a function: Runtime (in this process) or containers.ContainerPool (one per invocation)."""

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any: ...


class Runtime:
    """Handlers by function logical id, imported on first use, called in this process (one-off invokes,
    tests). Not for concurrent use: module-level state is shared, as within one Lambda container."""

    def __init__(self, functions: dict[str, Function]) -> None:
        self.functions = functions
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._lock = threading.Lock()

    def handler(self, logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
        if logical_id not in self._handlers:
            with self._lock:
                if logical_id not in self._handlers:
                    module_name, attr = self.functions[logical_id].handler.rsplit(".", 1)
                    self._handlers[logical_id] = getattr(importlib.import_module(module_name), attr)
        return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        fn = self.functions[logical_id]
        context = LocalContext(function_name=logical_id, memory_limit_in_mb=fn.memory, timeout_s=fn.timeout)
        return self.handler(logical_id)(event, context)
