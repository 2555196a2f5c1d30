"""Faults under load, through the running stack's control API (same port as the API):

    GET  /_local/services                        {name: {pid, running, restarts, address}, ...}
    POST /_local/services/<name>/{stop,start,kill}   name: postgres, redis, sqs, chain
    POST /_local/containers/<FunctionLogicalId>/kill e.g. ApiFunction, WorkerFunction

Redis and the SQS emulator are SIGKILLed (the stack restarts them by itself), PostgreSQL is
stopped for a while and started again, and a Worker and an API container are killed mid-request.
What may fail: 503 while the database is down, and 502 for the request whose container was killed
(counted separately). Everything else must answer as usual; afterwards the invariants must hold."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from reliability.client import Client, ServerError, Tally

# After the database is back, pooled connections may still fail once before being replaced.
RECOVERY_GRACE_SECONDS = 5.0


class ControlApiMissing(RuntimeError):
    pass


@dataclass
class Fault:
    name: str
    started: float
    recovered: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def outage_seconds(self) -> float | None:
        return None if self.recovered is None else round(self.recovered - self.started, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.name,
            "outageSeconds": self.outage_seconds,
            "recovered": self.recovered is not None,
            **self.detail,
        }


class Control:
    def __init__(self, base: str) -> None:
        self.client = Client(base, Tally(), timeout=60)

    def services(self) -> dict[str, Any]:
        answer = self.client.get("/_local/services")
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise ControlApiMissing(f"GET /_local/services answered {answer.status} {answer.body!r:.200}")
        return answer.body

    def post(self, path: str) -> Any:
        answer = self.client.post(path)
        if answer.status >= 300:
            raise ControlApiMissing(f"POST {path} answered {answer.status} {answer.body!r:.200}")
        return answer.body

    def wait_running(self, name: str, restarts_above: int | None = None, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = self.services().get(name) or {}
            except Exception:
                info = {}
            if info.get("running") and (restarts_above is None or int(info.get("restarts", 0)) > restarts_above):
                return True
            time.sleep(0.1)
        return False


@dataclass
class FaultPlan:
    database_outage: float = 30.0
    settle: float = 10.0  # normal load between faults
    api_container_kills: int = 1
    worker_container_kills: int = 1


def run_faults(base: str, plan: FaultPlan) -> list[Fault]:
    control = Control(base)
    control.services()  # raises ControlApiMissing before any load is wasted
    faults: list[Fault] = []

    def settle() -> None:
        time.sleep(plan.settle)

    for name in ("redis", "sqs"):
        before = int(control.services().get(name, {}).get("restarts", 0))
        fault = Fault(f"{name} killed", time.monotonic())
        control.post(f"/_local/services/{name}/kill")
        if control.wait_running(name, restarts_above=before):
            fault.recovered = time.monotonic()
        faults.append(fault)
        settle()

    fault = Fault(f"postgres stopped {plan.database_outage:g}s", time.monotonic())
    control.post("/_local/services/postgres/stop")
    time.sleep(plan.database_outage)
    control.post("/_local/services/postgres/start")
    if control.wait_running("postgres"):
        fault.recovered = time.monotonic()
    faults.append(fault)
    settle()

    for function, count in (("WorkerFunction", plan.worker_container_kills), ("ApiFunction", plan.api_container_kills)):
        for _ in range(count):
            fault = Fault(f"{function} container killed", time.monotonic())
            fault.detail["answer"] = control.post(f"/_local/containers/{function}/kill")
            fault.recovered = time.monotonic()
            faults.append(fault)
            settle()
    return faults


def classify(errors: list[ServerError], faults: list[Fault]) -> dict[str, Any]:
    """Split the 5xx seen under faults into the expected ones (503 while the database was down, one
    502 per killed API container) and the rest."""
    windows = [
        (f.started, (f.recovered or float("inf")) + RECOVERY_GRACE_SECONDS)
        for f in faults
        if f.name.startswith("postgres")
    ]
    api_kills = sum(1 for f in faults if f.name.startswith("ApiFunction"))
    expected_503 = 0
    killed_502: list[ServerError] = []
    unexpected: list[ServerError] = []
    for error in errors:
        if error.status == 503 and any(a <= error.at <= b for a, b in windows):
            expected_503 += 1
        elif error.status == 502 and "Internal server error" in error.body:
            killed_502.append(error)
        else:
            unexpected.append(error)
    # A kill can hit at most the one request its container was serving.
    unexpected.extend(killed_502[api_kills:])
    killed_502 = killed_502[:api_kills]
    return {
        "expected503DuringDatabaseOutage": expected_503,
        "killedContainer502": len(killed_502),
        "unexpected5xx": len(unexpected),
        "unexpectedSample": [f"{e.route} {e.status} {e.body[:160]}" for e in unexpected[:10]],
    }
