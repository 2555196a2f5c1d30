"""Supervised services for the local stack: a service the stack started that dies is started again on
the same address (port, unix socket, data directory), and the restart is logged; one stopped on
purpose (`POST /_local/services/<name>/stop`) stays down until it is started again.

    service = SomeService(...)          a ProcessService subclass: how to spawn it and when it is ready
    service.start()                     spawn, wait until ready (retried until start_timeout)
    service.stop() / service.kill()     on purpose (stays down) / SIGKILL (the supervisor restarts it)
    supervisor = Supervisor(services, log); supervisor.start(); ...; supervisor.stop()
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 10.0


class ServiceError(RuntimeError):
    """A service could not be started (or is not ours to control)."""


class ProcessService:
    """One server process the stack owns. Subclasses say how to spawn it and how to tell it is ready;
    every start uses the same address, so clients configured once (the handlers' URLs) keep working.
    A lock serialises start, stop and the supervisor's restarts."""

    name = "service"
    start_timeout = 20.0
    stop_timeout = 10.0
    stop_signal = signal.SIGTERM

    def __init__(self, address: str, log_path: Path) -> None:
        self.address = address
        self.log_path = log_path
        self.restarts = 0
        self.wanted = True  # False once stopped on purpose: the supervisor leaves it down
        self.lock = threading.RLock()
        self.on_restart: list[Callable[[], object]] = []  # e.g. recreate the queues moto forgot
        self._proc: subprocess.Popen[bytes] | None = None
        self._closing = threading.Event()

    # ---------------------------------------------------------------- what a subclass provides
    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Before each spawn (e.g. clear what a killed process left behind)."""

    # ---------------------------------------------------------------- state
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def describe(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "running": self.running,
            "restarts": self.restarts,
            "address": self.address,
            "managed": True,
            "wanted": self.wanted,
        }

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        """Spawn and wait until ready; a process that exits while starting (a port or shared memory
        its killed predecessor still holds) is spawned again until start_timeout."""
        with self.lock:
            self.wanted = True
            if self.running:
                return
            deadline = time.monotonic() + self.start_timeout
            while True:
                error = self._start_once(deadline)
                if error is None:
                    return
                self._reap()
                if self._closing.is_set() or time.monotonic() > deadline:
                    raise ServiceError(f"{self.name} did not start: {error}; see {self.log_path}")
                time.sleep(POLL_SECONDS)

    def _start_once(self, deadline: float) -> str | None:
        """One spawn; None when ready, else why not."""
        try:
            self._prepare()
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log:
                self._proc = self._spawn(log)
            while time.monotonic() < deadline and not self._closing.is_set():
                if self._proc.poll() is not None:
                    return f"exited with {self._proc.returncode}"
                with contextlib.suppress(Exception):
                    if self._ready():
                        return None
                time.sleep(0.05)
            return "not ready in time"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

    def resume(self) -> None:
        """Start again after a stop on purpose, with what a restart redoes (the queues for moto)."""
        with self.lock:
            if not self.running:
                self.start()
                self.run_restart_hooks()
            self.wanted = True

    def run_restart_hooks(self) -> None:
        for hook in self.on_restart:
            hook()

    def discard(self) -> None:
        """SIGKILL what is left of a failed start."""
        with self.lock:
            self._reap()

    def stop(self) -> None:
        """Stop on purpose: the supervisor does not restart it until start() is called."""
        with self.lock:
            self.wanted = False
            self._reap(graceful=True)

    def close(self) -> None:
        """Stop for good (the stack is stopping): abort a start in progress, then stop."""
        self._closing.set()
        self.stop()

    def kill(self) -> int:
        """SIGKILL, as a crash would; returns the pid. The supervisor restarts it."""
        with self.lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                raise ServiceError(f"{self.name} is not running")
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            return proc.pid

    def _reap(self, graceful: bool = False) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        if graceful:
            _signal_group(proc, self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=self.stop_timeout)
                return
        _signal_group(proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the process and, when it leads its own session, what it spawned (hardhat's workers)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)


class Supervisor:
    """One watcher thread per service: a service that is wanted but not running is restarted, with
    a log line saying how it died and how long the restart took; a restart that fails is reported
    and retried with a growing pause (up to MAX_BACKOFF_SECONDS), until it succeeds."""

    def __init__(self, services: dict[str, ProcessService], log: Callable[[str], None]) -> None:
        self.services, self.log = services, log
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for service in self.services.values():
            thread = threading.Thread(
                target=self._watch, args=(service,), name=f"supervise-{service.name}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)

    def _watch(self, service: ProcessService) -> None:
        backoff, died = 0.0, ""
        while not self.stopping.wait(max(POLL_SECONDS, backoff)):
            with service.lock:
                if self.stopping.is_set() or not service.wanted or service.running:
                    backoff, died = 0.0, ""
                    continue
                died = died or f"{service.name} died (exit {service.exit_code})"
                backoff = self._restart(service, died, backoff)

    def _restart(self, service: ProcessService, died: str, backoff: float) -> float:
        """Restart a dead service; returns the pause before the next attempt (0 after a success)."""
        started = time.monotonic()
        try:
            service.start()
            service.run_restart_hooks()
        except Exception as exc:
            backoff = min(MAX_BACKOFF_SECONDS, max(1.0, backoff * 2))
            self.log(f"{died}; RESTART FAILED: {exc}; retrying in {backoff:.0f}s")
            service.discard()  # a half-started one is tried again from scratch
            return backoff
        service.restarts += 1
        self.log(f"{died}; restarted in {time.monotonic() - started:.1f}s on {service.address}")
        return 0.0
