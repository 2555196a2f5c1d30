"""The four runs of the suite, each against a running LocalStack, each returning a JSON-ready report
(and writing it to bench/results/reliability-<run>-<time>.json). Budgets are small by default (the
part inside `make test`) and full with RELIABILITY_FULL=1 (`make test-reliability`)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from reliability import invariants
from reliability.client import Client
from reliability.faults import ControlApiMissing, FaultPlan, classify, run_faults
from reliability.leaks import prepare_players, run_leak_check
from reliability.load import ClientRecord, run_load
from reliability.players import database, sign_in_many
from reliability.schemathesis_run import run_schemathesis
from reliability.stack import ROOT, LocalStack

RESULTS = ROOT / "bench" / "results"
# Every report of this process, for the pytest terminal summary.
REPORTS: list[dict[str, Any]] = []


@dataclass(frozen=True)
class Budgets:
    full: bool
    fuzz_examples_per_operation: int
    load_players: int
    load_seconds: float
    leak_users: int
    leak_seconds: float
    fault_players: int
    database_outage: float
    fault_settle: float
    drain_timeout: float
    # A killed worker's batch stays invisible for the queue's VisibilityTimeout (180 s), as in AWS:
    # too long a wait for the bounded part, so only the full run kills a Worker container.
    worker_kills: int

    @classmethod
    def from_env(cls) -> Budgets:
        return cls.of(os.environ.get("RELIABILITY_FULL", "") in ("1", "true", "yes"))

    @classmethod
    def of(cls, full: bool) -> Budgets:
        if full:
            return cls(True, 100, 50, 60, 48, 30, 50, 30, 10, 300, 1)
        return cls(False, 10, 10, 15, 16, 8, 6, 5, 2, 60, 0)


def write_report(run: str, report: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"reliability-{run}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    report["reportFile"] = str(path.relative_to(ROOT))
    REPORTS.append(report)
    return path


def _invariants(stack: LocalStack, engine: Any, timeout: float, records: Sequence[ClientRecord] = ()) -> dict[str, Any]:
    # Stats and audit rows come from jobs: let the sweep and the workers finish first.
    drained = invariants.drain(stack.env, engine, timeout)
    # A client of its own: the checks' reads must not count as the load's requests.
    checks = invariants.check_all(stack.env, engine, records, Client(stack.base))
    return {
        "drain": drained,
        "checks": {name: c.as_dict() for name, c in checks.items()},
        "allHold": all(c.ok for c in checks.values()),
        "totals": invariants.totals(engine),
    }


def fuzz(stack: LocalStack, budgets: Budgets) -> dict[str, Any]:
    client = Client(stack.base)
    engine = database(stack.env)
    try:
        player = sign_in_many(client, 1, engine, Decimal(100000))[0]
    finally:
        engine.dispose()
    result = run_schemathesis(stack.base, player.token, budgets.fuzz_examples_per_operation)
    report = {"run": "schemathesis", "budgets": asdict(budgets), **result.summary()}
    write_report("schemathesis", report)
    return report


def load(stack: LocalStack, budgets: Budgets) -> dict[str, Any]:
    client = Client(stack.base, pool=budgets.load_players * 2)
    engine = database(stack.env)
    try:
        players = sign_in_many(client, budgets.load_players, engine, Decimal(100000))
        client.tally.__init__()  # count the load only, not the sign-ins
        result = run_load(client, players, engine, budgets.load_seconds)
        report = {
            "run": "load",
            "budgets": asdict(budgets),
            "players": len(players),
            **result.summary(),
            "http": client.tally.summary(),
            "invariants": _invariants(stack, engine, budgets.drain_timeout, result.records),
        }
    finally:
        engine.dispose()
    write_report("load", report)
    return report


def leaks(stack: LocalStack, budgets: Budgets) -> dict[str, Any]:
    client = Client(stack.base, pool=budgets.leak_users + 16)
    engine = database(stack.env)
    try:
        players = prepare_players(client, engine, budgets.leak_users)
        client.tally.__init__()
        result = run_leak_check(client, stack.env, engine, players, budgets.leak_seconds)
        report = {"run": "leaks", "budgets": asdict(budgets), "users": len(players), **result.summary()}
    finally:
        engine.dispose()
    write_report("leaks", report)
    return report


def faults(stack: LocalStack, budgets: Budgets) -> dict[str, Any]:
    client = Client(stack.base, pool=budgets.fault_players * 2)
    engine = database(stack.env)
    report: dict[str, Any] = {"run": "faults", "budgets": asdict(budgets)}
    try:
        players = sign_in_many(client, budgets.fault_players, engine, Decimal(100000))
        client.tally.__init__()
        stop = threading.Event()
        holder: dict[str, Any] = {}
        driver = threading.Thread(
            target=lambda: holder.setdefault("load", run_load(client, players, engine, 3600, stop, seed=7)), daemon=True
        )
        driver.start()
        time.sleep(budgets.fault_settle)  # faults hit a warm stack under load
        plan = FaultPlan(
            database_outage=budgets.database_outage,
            settle=budgets.fault_settle,
            worker_container_kills=budgets.worker_kills,
        )
        try:
            injected = run_faults(stack.base, plan)
        except ControlApiMissing as exc:
            injected = []
            report["controlApiMissing"] = str(exc)
        finally:
            stop.set()
            driver.join(timeout=120)
        load_result = holder.get("load")
        report.update(
            players=len(players),
            faults=[f.as_dict() for f in injected],
            load=load_result.summary() if load_result else None,
            http=client.tally.summary(),
            serverErrors=classify(client.tally.server_errors, injected),
            invariants=_invariants(stack, engine, budgets.drain_timeout, load_result.records if load_result else ()),
        )
    finally:
        engine.dispose()
    write_report("faults", report)
    return report


def _check_lines(inv: dict[str, Any]) -> list[str]:
    lines = [f"  invariants: {'ALL HOLD' if inv['allHold'] else 'VIOLATED'} (drain {inv['drain']})"]
    for name, c in inv["checks"].items():
        mark = "ok  " if c["ok"] else "FAIL"
        first = f" e.g. {c['sample'][0]}" if c["sample"] else ""
        lines.append(f"    {mark} {name}: {c['checked']} checked, {c['failed']} failed{first}")
    lines.append(f"    totals {inv['totals']}")
    return lines


def summary(report: dict[str, Any]) -> str:
    """The human summary of one run's report."""
    run = report["run"]
    lines = [
        f"[reliability] {run} ({'full' if report['budgets']['full'] else 'bounded'}) -> {report.get('reportFile')}"
    ]
    if run == "schemathesis":
        lines.append(
            f"  {report['operations']} operations, {report['cases']} cases, {report['failingCases']} failing, "
            f"{report['serverErrors']} server errors, {report['seconds']} s"
        )
        lines += [f"    {n:4d} {k}" for k, n in report["failuresByOperationAndCheck"].items()]
    if "http" in report:
        http = report["http"]
        lines.append(
            f"  requests {http['requests']}, 5xx {http['serverErrors']}, transport errors {http['transportErrors']}"
        )
        lines += [f"    5xx {k}: {n}" for k, n in http["serverErrorsByRoute"].items()]
        lines.append(
            f"  sent {http['sent']}, retries {http['retries']} {http['retriesByRoute']}, "
            f"replays {http['replays']} {http['replaysByRoute']}"
        )
        lines.append(f"  final 5xx/no answer after retries {http['final5xx']} {http['final5xxByRoute']}")
        if http["gaveUpByRoute"]:
            lines.append(f"  gave up retrying: {http['gaveUpByRoute']}")
    if run == "load":
        lines.append(
            f"  {report['players']} players, {report['rounds']} rounds in {report['durationSeconds']} s; "
            f"actions {report['actions']}"
        )
        lines.append(f"  changes by final answer {report['changes']}")
        if report["unexpectedStatuses"]:
            lines.append(f"  unexpected 4xx: {report['unexpectedStatuses']}")
    if run == "faults":
        if report.get("controlApiMissing"):
            lines.append(f"  control API missing: {report['controlApiMissing']}")
        for f in report.get("faults", []):
            lines.append(f"  fault {f['fault']}: outage {f['outageSeconds']} s, recovered {f['recovered']}")
        lines.append(f"  5xx under faults: {report.get('serverErrors')}")
        if report.get("load"):
            lines.append(f"  changes by final answer {report['load']['changes']}")
    if run == "leaks":
        lines.append(
            f"  {report['users']} users, {report['reads']} reads, {report['rowsChecked']} rows checked, "
            f"{report['leaks']} leaks; "
            f"{report['badRequests']} bad requests of {report['badRequestKinds']} kinds"
        )
        for name, statuses in report["badRequestsNot4xx"].items():
            lines.append(f"    not 4xx: {name}: {statuses}")
    if "invariants" in report:
        lines += _check_lines(report["invariants"])
    return "\n".join(lines)
