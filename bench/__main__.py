"""python -m bench: start the local stack, drive each scenario N times at concurrency C in-process
(the handler called directly with an API Gateway event) and over HTTP, measure each function's cold
start in a fresh process, print a table and write JSON to bench/results/."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.http import KeepAliveClient
from bench.scenarios import SCENARIOS, Request, Scenario
from bench.stats import summarize
from devstack.services import free_port
from devstack.template import ROOT

RESULTS = ROOT / "bench" / "results"
WALLET = "0x" + "be" * 20

# The event each function gets for its cold-start measurement.
COLD_START_EVENTS = {
    "ApiFunction": "api_health.json",
    "AuthorizerFunction": "authorizer_token.json",
    "AuthFunction": "auth_nonce.json",
    "WorkerFunction": "worker_sqs_audit.json",
    "OutboxSweepFunction": "schedule_outbox_sweep.json",
    "NightlyStatsFunction": "schedule_nightly_stats.json",
    "ChainPollerFunction": "schedule_chain_poller.json",
    "RealtimeFunction": "realtime_connect.json",
    "NotifierFunction": "notifier_sqs_push.json",
}


@contextmanager
def running_stack(data_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`python -m devstack up` (what `make dev` runs) with schedules off, so they add no noise."""
    port = free_port()
    env = {**os.environ, "DEVSTACK_SQS_PORT": str(free_port()), "DEVSTACK_WS_PORT": str(free_port())}
    log = (data_dir / "stack.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack",
            "--data-dir",
            str(data_dir),
            "up",
            "--port",
            str(port),
            "--schedule-speed",
            "0",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not (data_dir / "stack.json").exists() or not _answers(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the stack did not start; see {data_dir / 'stack.log'}")
            time.sleep(0.2)
        yield base, json.loads((data_dir / "stack.json").read_text())["env"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/api/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def drive(call: Callable[[int], int], scenario: Scenario, requests: int, concurrency: int) -> dict[str, Any]:
    """Run `requests` calls over `concurrency` threads; each call returns the HTTP status."""
    samples: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        nonlocal errors
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            start = time.perf_counter()
            status = call(i)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                samples.append(elapsed)
                errors += status != scenario.expect_status

    for i in range(min(20, requests)):  # warm-up: imports, connection pools
        call(i)
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summarize(samples, time.perf_counter() - started, errors)


def _extra_user(i: int) -> uuid.UUID:
    from gbc.data.models import User
    from gbc.data.transaction import unit_of_work

    with unit_of_work() as uow:
        extra = User(wallet_address="0x" + f"{i:040x}")
        uow.session.add(extra)
    return extra.id


def in_process_caller(scenario: Scenario, user_id: str) -> Callable[[int], int]:
    import api_app

    from bench.gateway import signed_in_context
    from devstack.apigw import rest_event
    from devstack.runtime import LocalContext

    def call(i: int) -> int:
        request: Request = scenario.request(i)
        event = rest_event(
            request.method,
            request.path,
            query={k: [v] for k, v in request.query.items()},
            headers={"Content-Type": ["application/json"]},
            body=request.body_text(),
            authorizer=signed_in_context(user_id) if request.authenticated else None,
        )
        return int(api_app.lambda_handler(event, LocalContext("ApiFunction", 1024, 30))["statusCode"])

    return call


def http_caller(scenario: Scenario, base: str, token: str) -> Callable[[int], int]:
    client = KeepAliveClient(base)

    def call(i: int) -> int:
        request = scenario.request(i)
        headers = {"Content-Type": "application/json"}
        if request.authenticated:
            headers["Authorization"] = f"Bearer {token}"
        body = request.body_text()
        query = "?" + "&".join(f"{k}={v}" for k, v in request.query.items()) if request.query else ""
        status, _ = client.request(request.method, request.path + query, body.encode() if body else None, headers)
        return status

    return call


COLD_START_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
import importlib
module_name, attr = sys.argv[1].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), attr)
t1 = time.perf_counter()
from devstack.runtime import LocalContext
event = json.loads(open(sys.argv[2]).read().replace("<token>", sys.argv[3]))
try:
    handler(event, LocalContext(sys.argv[4], 1024, 30))
    ok = True
except Exception:
    ok = False
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_invoke_ms": (t2 - t1) * 1000, "ok": ok}))
"""


# What an API function cannot avoid importing (and building: the SQS client, a pg8000 engine): the
# reference its cold start is measured against (issue 12: import + first request <= 1.25x of this).
LIBRARY_REFERENCE_SCRIPT = """
import json, time
t0 = time.perf_counter()
import boto3
boto3.session.Session().client("sqs", region_name="us-east-1")
import pg8000, redis, pydantic, sqlalchemy
sqlalchemy.create_engine("postgresql+pg8000://u@127.0.0.1/db")
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
APIGatewayRestResolver(enable_validation=True)
print(json.dumps({"ms": (time.perf_counter() - t0) * 1000}))
"""


def _run_json(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def compile_code(code_dirs: list[Path]) -> None:
    """Write the code's .pyc, as the artifact ships them (`make build` compiles .aws-sam/build):
    without them (PYTHONDONTWRITEBYTECODE, as on this kind of machine) every fresh process compiles
    the code again, a cost no deployed cold start pays, while the libraries' .pyc came with pip."""
    import compileall

    for folder in code_dirs:
        compileall.compile_dir(str(folder), quiet=1, workers=1)


def compile_functions(raw: dict[str, Any], logical_ids: Iterable[str]) -> None:
    """compile_code for these functions' code, the layer and the local runtime they start through."""
    code_dirs = {ROOT / raw["Resources"][logical_id]["Properties"]["CodeUri"] for logical_id in logical_ids}
    compile_code([*sorted(code_dirs), ROOT / "layers" / "common", ROOT / "devstack"])


def cold_starts(env: dict[str, str], token: str, runs: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each function in a fresh interpreter: importing its handler module, then its first invocation;
    and the library reference. Run in rounds (the reference, then every function, once a round), so
    that the ratio compares processes that ran on the same machine at the same time."""
    from devstack.template import load_raw, load_stack

    stack = load_stack(sqs_endpoint=env["SQS_ENDPOINT_URL"])
    raw = load_raw()
    measured = {logical_id: fn for logical_id, fn in stack.functions.items() if logical_id in COLD_START_EVENTS}
    # MigrationsFunction is left out: it runs once a deploy, and no request waits for it.
    compile_functions(raw, measured)
    samples: dict[str, list[dict[str, Any]]] = {logical_id: [] for logical_id in measured}
    reference: list[float] = []
    for _ in range(runs):
        reference.append(_run_json([sys.executable, "-c", LIBRARY_REFERENCE_SCRIPT])["ms"])
        for logical_id, fn in measured.items():
            command, fn_env = _cold_start_command(raw, logical_id, fn.handler, env, token)
            samples[logical_id].append(_run_json(command, env=fn_env))
    results: dict[str, Any] = {}
    for logical_id, runs_of_fn in samples.items():
        imports = _median([s["import_ms"] for s in runs_of_fn])
        firsts = _median([s["first_invoke_ms"] for s in runs_of_fn])
        results[logical_id] = {
            "import_ms_median": round(imports, 1),
            "first_invoke_ms_median": round(firsts, 1),
            "total_ms_median": round(imports + firsts, 1),
            "ok": all(s["ok"] for s in runs_of_fn),
            "runs": runs,
        }
    return results, {"ms_median": round(_median(reference), 1), "runs": runs}


def _cold_start_command(
    raw: dict[str, Any], logical_id: str, handler: str, env: dict[str, str], token: str
) -> tuple[list[str], dict[str, str]]:
    # What Lambda sets: the X-Ray SDK, for one, skips its sampling client when it sees these.
    code_uri = raw["Resources"][logical_id]["Properties"]["CodeUri"]
    lambda_env = {"LAMBDA_TASK_ROOT": str(ROOT / code_uri), "AWS_LAMBDA_FUNCTION_NAME": logical_id}
    event = ROOT / "events" / COLD_START_EVENTS[logical_id]
    command = [sys.executable, "-c", COLD_START_SCRIPT, handler, str(event), token, logical_id]
    return command, {**os.environ, **env, **lambda_env, "LOG_LEVEL": "ERROR"}


def collected_instructions(callgrind_stderr: str) -> int:
    """The instruction count valgrind's callgrind prints at exit ("==123== Collected : 2481904298")."""
    for line in callgrind_stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise ValueError("callgrind printed no instruction count")


def _instructions(command: list[str], env: dict[str, str] | None = None) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return collected_instructions(out.stderr)


def cold_start_instructions(env: dict[str, str], token: str, functions: list[str]) -> dict[str, Any]:
    """Instructions (valgrind's callgrind) of each function's import + first invocation and of the
    library reference: the same count however busy the machine is, where the wall-clock ratio moves
    by a tenth from run to run on a shared VM. CPU only: waits (the first call's round trips) are
    not in it. About a minute a function; needs valgrind."""
    from devstack.template import load_raw, load_stack

    stack = load_stack(sqs_endpoint=env["SQS_ENDPOINT_URL"])
    raw = load_raw()
    compile_functions(raw, functions)  # as cold_starts does: without .pyc, the count is mostly compiling
    reference = _instructions([sys.executable, "-c", LIBRARY_REFERENCE_SCRIPT])
    report: dict[str, Any] = {"reference": reference}
    for logical_id in functions:
        command, fn_env = _cold_start_command(raw, logical_id, stack.functions[logical_id].handler, env, token)
        count = _instructions(command, fn_env)
        report[logical_id] = {"instructions": count, "x_reference": round(count / reference, 3)}
    return report


def _median(samples: list[float]) -> float:
    return sorted(samples)[len(samples) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--requests", "-n", type=int, default=2000)
    parser.add_argument("--concurrency", "-c", type=int, default=8)
    parser.add_argument(
        "--suites", default="api,game,cpu,queue,cold", help="comma-separated, of: api, game, cpu, queue, cold"
    )
    parser.add_argument("--cpu-actions", type=int, default=500, help="actions measured by the cpu suite")
    parser.add_argument("--cold-start-runs", type=int, default=7)
    parser.add_argument(
        "--cold-instructions",
        default="",
        help="comma-separated functions whose cold start is also counted in instructions (callgrind), "
        "e.g. ApiFunction: a ratio to the reference that machine noise does not move",
    )
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per type for the worker throughput")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/bench-<time>.json)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="gbc-bench-") as tmp, running_stack(Path(tmp)) as (base, env):
        from devstack.metrics_file import route_metric_lines
        from devstack.runtime import apply_environment

        apply_environment(env)
        # The handlers' EMF lines (in-process calls) to a file, as a container's, not amid the report.
        route_metric_lines(Path(tmp) / "bench-metrics.jsonl")
        from gbc.auth.tokens import issue_token
        from gbc.data.models import User
        from gbc.data.transaction import unit_of_work

        with unit_of_work() as uow:
            user = User(wallet_address=WALLET)
            uow.session.add(user)
        token = issue_token(user.id, WALLET)

        report: dict[str, Any] = {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "scenarios": {},
        }
        suites = set(args.suites.split(","))
        if "api" in suites:
            from bench import containers

            names = args.scenarios.split(",")
            users = [user.id] + [_extra_user(i) for i in range(1, args.concurrency)]
            in_process = containers.run(
                env, "api", {n: SCENARIOS[n].expect_status for n in names}, users, args.requests
            )
            for name in names:
                scenario = SCENARIOS[name]
                report["scenarios"][name] = {
                    "in_process": in_process[name],
                    "http": drive(http_caller(scenario, base, token), scenario, args.requests, args.concurrency),
                }
        if "game" in suites:
            from bench.game import run_game_bench

            report["scenarios"].update(run_game_bench(base, env, args.requests, args.concurrency))
        if "cpu" in suites:
            from bench.cpu import measure

            report["cpu"] = measure(args.cpu_actions)
        if "queue" in suites:
            from bench import queue

            report["queue"] = {
                "worker_throughput": queue.worker_throughput(args.jobs),
                "enqueue_latency": queue.enqueue_latency(500),
                "enqueue_to_processed": queue.enqueue_to_processed(500, rate_per_s=50),
            }
        if "cold" in suites and args.cold_start_runs:
            report["cold_start"], report["cold_start_reference"] = cold_starts(env, token, args.cold_start_runs)
        if "cold" in suites and args.cold_instructions:
            functions = [f for f in args.cold_instructions.split(",") if f]
            report["cold_start_instructions"] = cold_start_instructions(env, token, functions)

    print_report(report)
    out = args.out or RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {out}")
    api_errors = any(r[m]["errors"] for r in report["scenarios"].values() for m in r)
    queue_errors = "queue" in report and (
        report["queue"]["enqueue_to_processed"]["lost"]
        or any(r["failures"] for r in report["queue"]["worker_throughput"].values())
    )
    return 1 if api_errors or queue_errors else 0


def print_report(report: dict[str, Any]) -> None:
    print(f"\n{report['requests']} requests per scenario and mode, concurrency {report['concurrency']}")
    width = max([len("scenario"), *map(len, report["scenarios"])]) + 2  # game-stand_settled is 18
    header = f"{'scenario':<{width}}{'mode':<12}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}{'errors':>8}"
    print(header)
    print("-" * len(header))
    for name, modes in report["scenarios"].items():
        for mode, r in modes.items():
            print(
                f"{name:<{width}}{mode:<12}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                f"{r['throughput_rps']:>9.0f}{r['errors']:>8}"
            )
    if "cpu" in report:
        print("\nprocess CPU per request, in-process, one player (python -m bench.cpu)")
        for name, r in report["cpu"].items():
            if name == "wall_time_mean_ms":  # printed below, part by part
                continue
            print(
                f"{name:<32} mean {r['mean_ms']:.2f} ms  p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  n={r['n']}"
            )
        for name, parts in report["cpu"].get("wall_time_mean_ms", {}).items():
            print(f"\nwhere the wall time of an {name.replace('_', ' ')} goes, in-process (mean of each part, ms)")
            width = max(map(len, parts)) + 2
            for part, ms in parts.items():
                print(f"  {part:<{width}}{ms:>8.3f}")
    if "queue" in report:
        print("\nworker throughput, one process, handler called with SQS batches of 10")
        print(f"{'job type':<22}{'jobs/s':>9}{'ms/job':>9}{'batch p50':>11}{'failures':>10}")
        for job_type, r in report["queue"]["worker_throughput"].items():
            print(
                f"{job_type:<22}{r['jobs_per_s']:>9.0f}{r['per_job_ms']:>9.2f}{r['batch_p50_ms']:>11.2f}{r['failures']:>10}"
            )
        for name in ("enqueue_latency", "enqueue_to_processed"):
            r = report["queue"][name]
            extra = f", lost {r['lost']} at {r['rate_per_s']:g}/s" if "lost" in r else ""
            print(f"{name:<22} p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms{extra}")
    if "cold_start" in report:
        print(f"\ncold start (fresh process, median of {next(iter(report['cold_start'].values()))['runs']})")
        reference = report.get("cold_start_reference", {}).get("ms_median")
        print(f"{'function':<24}{'import ms':>11}{'1st call ms':>13}{'total ms':>10}{'x reference':>13}")
        for fn, r in report["cold_start"].items():
            flag = "" if r["ok"] else "  (handler raised)"
            ratio = f"{r['total_ms_median'] / reference:>13.2f}" if reference else ""
            print(
                f"{fn:<24}{r['import_ms_median']:>11.1f}{r['first_invoke_ms_median']:>13.1f}"
                f"{r['total_ms_median']:>10.1f}{ratio}{flag}"
            )
        if reference:
            libraries = "boto3 SQS client, SQLAlchemy+pg8000, redis, pydantic, Powertools REST resolver"
            print(f"{'reference':<24}{reference:>11.1f}   {libraries}")
    if "cold_start_instructions" in report:
        counted = report["cold_start_instructions"]
        print("\ncold start in instructions (callgrind: import + first invocation; CPU only)")
        print(f"{'reference':<24}{counted['reference']:>15,}")
        for fn, r in counted.items():
            if fn != "reference":
                print(f"{fn:<24}{r['instructions']:>15,}{r['x_reference']:>9.3f} x reference")


if __name__ == "__main__":
    raise SystemExit(main())
