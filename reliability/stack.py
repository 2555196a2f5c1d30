"""The local stack as a subprocess: `python -m devstack up --reset` in a temp data dir on free ports,
as a fresh CI clone would run it, and its environment (stack.json) for direct checks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Variables that would point the stack at someone else's services instead of its own embedded ones.
FOREIGN = ("DATABASE_URL", "REDIS_URL", "SQS_ENDPOINT_URL", "JWT_SECRET", "CHAIN_RPC_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StackStartError(RuntimeError):
    pass


class LocalStack:
    def __init__(self, data_dir: Path, containers: int = 4, schedule_speed: float = 60) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.containers = containers
        self.schedule_speed = schedule_speed
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180) -> None:
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
        env.update(
            DEVSTACK_DATA_DIR=str(self.data_dir),
            DEVSTACK_CHAIN_PORT=str(free_port()),
            DEVSTACK_WS_PORT=str(free_port()),  # a `make dev` beside the tests holds the default
            DEVSTACK_CONTAINERS=str(self.containers),
            PYTHONUNBUFFERED="1",
        )
        # The test process's conftest environment (APP_ENV=test, a fixed JWT secret...) is not the stack's.
        for name in ("APP_ENV", "DB_POOL_SIZE", "SIGNER_PRIVATE_KEY", "VAULT_ADDRESS"):
            env.pop(name, None)
        cmd = [
            sys.executable,
            "-m",
            "devstack",
            "--data-dir",
            str(self.data_dir),
            "up",
            "--reset",
            "--port",
            str(self.port),
            "--sqs-port",
            str(free_port()),
            "--schedule-speed",
            str(self.schedule_speed),
        ]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter running the stack
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        import urllib3

        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=5), retries=False)
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(Exception):
                if http.request("GET", self.base + "/api/health").status == 200 and self.state_file.exists():
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise StackStartError(f"the local stack did not come up:\n{self.log_tail()}")
            time.sleep(0.25)

    @property
    def state_file(self) -> Path:
        return self.data_dir / "stack.json"

    @property
    def env(self) -> dict[str, str]:
        return dict(json.loads(self.state_file.read_text())["env"])

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def stop(self) -> None:
        """Ctrl-C first (the stack stops PostgreSQL, Redis, moto and the chain itself), then SIGKILL."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def running_stack(data_dir: Path, **options: Any) -> Iterator[LocalStack]:
    stack = LocalStack(data_dir, **options)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
