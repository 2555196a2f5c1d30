"""`python -m devstack up` under faults, through its /_local/ controls: Redis killed and restarted by
the supervisor, an API container killed and replaced, PostgreSQL stopped on purpose (stays down) and
started; then SIGTERM stops every process the stack started, restarted and replaced ones included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import ROOT
from tests.e2e.test_local_stack import _free_port

pytestmark = pytest.mark.e2e

PYTHON = ROOT / ".venv" / "bin" / "python"


class Stack:
    def __init__(self, base: str, proc: subprocess.Popen[bytes], data_dir: Path, log: Path, ports: list[int]) -> None:
        self.base, self.proc, self.data_dir, self.log, self.ports = base, proc, data_dir, log, ports

    def call(self, method: str, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def services(self) -> dict[str, Any]:
        status, body = self.call("GET", "/_local/services")
        assert status == 200, body
        return body

    def healthy(self) -> bool:
        try:
            return self.call("GET", "/api/health")[0] == 200
        except OSError:
            return False

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    data_dir = tmp_path / "data"
    port, sqs_port, chain_port = _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SQS_ENDPOINT_URL")}
    env.pop("CHAIN_RPC_URL", None)
    env.update(DEVSTACK_CHAIN_PORT=str(chain_port), DEVSTACK_WS_PORT=str(_free_port()))  # free of a `make dev`
    log = tmp_path / "stack.log"
    command = [str(PYTHON), "-m", "devstack", "--data-dir", str(data_dir), "up", "--reset"]
    command += ["--port", str(port), "--sqs-port", str(sqs_port), "--containers", "2"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Stack(f"http://127.0.0.1:{port}", proc, data_dir, log, [port, sqs_port, chain_port])
    try:
        _eventually(running.healthy, 120, lambda: f"the stack did not come up:\n{running.tail()}", proc)
        yield running
    finally:
        if proc.poll() is None:  # the test failed before its SIGTERM: leave nothing behind
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
            proc.kill()
            proc.wait()


def _eventually(
    check: Callable[[], bool], seconds: float, why: Callable[[], str], proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            pytest.fail(why())
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _ours(stack: Stack) -> list[psutil.Process]:
    """Processes anywhere on the machine that belong to this stack: its data directory or one of its
    ports on their command line (postgres -D, redis-server's config, moto's and hardhat's ports)."""
    marks = [str(stack.data_dir), *(f" {port}" for port in stack.ports)]
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["status"] != psutil.STATUS_ZOMBIE and any(mark in cmdline for mark in marks):
            found.append(process)
    return found


def test_the_stack_survives_killed_services_and_containers_and_stops_everything(stack):
    before = stack.services()
    assert {"postgres", "redis", "sqs", "chain"} <= set(before)
    assert all(before[name]["running"] for name in ("postgres", "redis", "sqs", "chain")), before

    # Redis SIGKILLed: the supervisor restarts it on the same socket; the API is healthy again.
    status, killed = stack.call("POST", "/_local/services/redis/kill")
    assert status == 200 and killed["killed"] == before["redis"]["pid"], killed
    _eventually(lambda: stack.services()["redis"]["restarts"] == 1, 20, stack.tail)
    redis_now = stack.services()["redis"]
    assert redis_now["running"] and redis_now["pid"] != before["redis"]["pid"]
    assert redis_now["address"] == before["redis"]["address"]
    _eventually(stack.healthy, 20, stack.tail)
    assert "redis died (exit -9); restarted in" in stack.log.read_text()

    # An API container SIGKILLed: it leaves the pool and requests are answered by a new one.
    api_pids = stack.services()["containers"]["ApiFunction"]["pids"]
    status, killed = stack.call("POST", "/_local/containers/ApiFunction/kill")
    assert status == 200 and killed["pid"] in api_pids, killed
    answers = [stack.call("GET", "/api/health")[0] for _ in range(5)]
    assert answers.count(200) >= 4, answers  # at most the one request it was serving fails (502)
    assert answers[-1] == 200
    pool = stack.services()["containers"]["ApiFunction"]
    assert killed["pid"] not in pool["pids"] and pool["pids"] and pool["discarded"] >= 1

    # PostgreSQL stopped on purpose stays down (health says so) until started, on the same socket.
    status, stopped = stack.call("POST", "/_local/services/postgres/stop")
    assert status == 200 and not stopped["running"] and not stopped["wanted"], stopped
    time.sleep(1)
    assert not stack.services()["postgres"]["running"]
    status, health = stack.call("GET", "/api/health")
    assert status == 503 and not health["database"]["ok"], health
    status, started = stack.call("POST", "/_local/services/postgres/start")
    assert status == 200 and started["running"], started
    assert started["address"] == before["postgres"]["address"] and started["restarts"] == 0
    _eventually(stack.healthy, 20, stack.tail)

    # SIGTERM: the stack exits and nothing it started (then or since) is left.
    started_by_it = psutil.Process(stack.proc.pid).children(recursive=True)
    assert len(started_by_it) >= 5
    stack.proc.send_signal(signal.SIGTERM)
    try:
        assert stack.proc.wait(timeout=30) == 0
    except subprocess.TimeoutExpired:
        pytest.fail(f"the stack did not stop on SIGTERM:\n{stack.tail()}")
    time.sleep(0.5)  # postgres backends exit right after their postmaster
    left = [p for p in started_by_it if _alive(p.pid)] + _ours(stack)
    assert not left, f"left running: {[(p.pid, p.cmdline()) for p in left if _alive(p.pid)]}"
    assert stack.log.read_text().rstrip().endswith("[devstack] stopped")
