"""The in-process mode at concurrency C: C processes, each a "container" that calls the handler
directly (the handler keeps per-request state at module level, like any Lambda, so one process serves
one request at a time). Steps run in lockstep across the processes (a barrier between them). As in the
local stack's containers, what a handler leaves for after its response (the outbox's delivery) runs
after the timed call, before the next one."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import uuid
from typing import Any

from bench.stats import summarize


def _caller(kind: str, user_id: uuid.UUID) -> Any:
    if kind == "game":
        from bench.game import Player, in_process_client

        return Player(in_process_client(user_id))
    from bench.__main__ import in_process_caller
    from bench.scenarios import SCENARIOS

    class ApiSteps:
        """step name = scenario name; each call is one timed request."""

        def __getattr__(self, name: str) -> Any:
            if name not in SCENARIOS:
                raise AttributeError(name)
            call = in_process_caller(SCENARIOS[name], str(user_id))
            counter = iter(range(10**9))

            def step() -> tuple[int, float]:
                start = time.perf_counter()
                status = call(next(counter))
                return status, (time.perf_counter() - start) * 1000

            return step

    return ApiSteps()


def _child(
    env: dict[str, str], kind: str, steps: list[str], user_id: uuid.UUID, count: int, barrier: Any, out: Any
) -> None:
    os.environ.update(env)
    os.environ["GBC_AFTER_RESPONSE"] = "host"
    from devstack.metrics_file import ENV_VARIABLE, route_metric_lines

    route_metric_lines()  # EMF lines to the file the environment names (as a stack container's), not the report
    # Its log lines (cache misses at INFO) beside them, not amid the report: a container's stdout is its log.
    with open(os.path.join(os.path.dirname(env[ENV_VARIABLE]), f"log-{os.getpid()}.jsonl"), "ab") as log:
        os.dup2(log.fileno(), 1)
    caller = _caller(kind, user_id)
    from gbc.after_response import drain

    for step in steps:
        timed = getattr(caller, step)

        def run(timed: Any = timed) -> tuple[int, float]:
            status, ms = timed()
            drain()
            return status, ms

        for _ in range(3):  # warm-up: imports, connections
            run()
        barrier.wait()
        samples, statuses = [], []
        started = time.perf_counter()
        for _ in range(count):
            status, ms = run()
            samples.append(ms)
            statuses.append(status)
        out.put((step, samples, statuses, time.perf_counter() - started))
    if hasattr(caller, "_finish"):
        caller._finish()


def run(env: dict[str, str], kind: str, steps: dict[str, int], users: list[uuid.UUID], requests: int) -> dict[str, Any]:
    """steps: step name -> expected status. Returns a summary per step."""
    from devstack.metrics_file import ENV_VARIABLE

    with tempfile.TemporaryDirectory(prefix="gbc-bench-in-process-") as tmp:
        return _run({**env, ENV_VARIABLE: os.path.join(tmp, "metrics.jsonl")}, kind, steps, users, requests)


def _run(
    env: dict[str, str], kind: str, steps: dict[str, int], users: list[uuid.UUID], requests: int
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(len(users)), ctx.Queue()
    per = max(1, requests // len(users))
    procs = [ctx.Process(target=_child, args=(env, kind, list(steps), u, per, barrier, out)) for u in users]
    for p in procs:
        p.start()
    collected: dict[str, list[tuple[list[float], list[int], float]]] = {s: [] for s in steps}
    for _ in range(len(users) * len(steps)):
        step, samples, statuses, wall = out.get(timeout=600)
        collected[step].append((samples, statuses, wall))
    for p in procs:
        p.join(timeout=60)
    report = {}
    for step, parts in collected.items():
        samples = [ms for part in parts for ms in part[0]]
        errors = sum(1 for part in parts for status in part[1] if status != steps[step])
        report[step] = summarize(samples, max(part[2] for part in parts), errors)
    return report
