"""CPU per game action, in-process: the API handler's process CPU time (time.process_time) around
each call, over a played sequence of rounds (deal, then actions until the round ends), one player
at a time. What the handler leaves for after its response (the outbox's delivery) is measured apart.

`python -m bench.cpu -n 500 [--profile out.txt]`: with --profile, cProfile (timed by process CPU, so
waiting for PostgreSQL or Redis does not count) records the actions; the functions with the most
CPU of their own, then the most CPU below them, are written to the file.

Where an action's wall time goes: around each timed call the wall clock is split into the process's
CPU, the time spent waiting for PostgreSQL (each exchange, by statement kind) and for Redis (the
wall time inside pg8000's and redis-py's reads, less the CPU they spent parsing), and the rest:
waiting for a CPU (two on this machine, shared with the stack's worker running the round's jobs)."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.game import _next_action, in_process_client, make_players


class Waits:
    """Time spent waiting for the database and the cache while `on`: pg8000's reads of an
    exchange's answers (by the tables its statement writes or reads) and redis-py's reads of a
    reply. The handler runs on this thread alone, so its CPU is this thread's."""

    def __init__(self) -> None:
        self.on = False
        self.spent: dict[str, float] = {}

    @contextmanager
    def installed(self) -> Iterator[None]:
        import pg8000.core
        import redis.connection

        def timed(read: Any, kind: Any) -> Any:
            def reading(connection: Any, *args: Any, **kwargs: Any) -> Any:
                if not self.on:
                    return read(connection, *args, **kwargs)
                wall, cpu = time.perf_counter(), time.thread_time()
                try:
                    return read(connection, *args, **kwargs)
                finally:
                    waited = (time.perf_counter() - wall) - (time.thread_time() - cpu)
                    key = kind(args)
                    self.spent[key] = self.spent.get(key, 0.0) + waited * 1000

            return reading

        core, cache = pg8000.core.CoreConnection, redis.connection.AbstractConnection
        handle_messages, read_response = core.handle_messages, cache.read_response
        core.handle_messages = timed(handle_messages, lambda args: "postgres: " + _kind(args[0].statement))
        cache.read_response = timed(read_response, lambda args: "redis")  # type: ignore[method-assign]
        try:
            yield
        finally:
            core.handle_messages, cache.read_response = handle_messages, read_response  # type: ignore[method-assign]


def _kind(statement: str | None) -> str:
    """A statement's label: the tables it writes (its CTEs' too), else the table it reads."""
    text = statement or ""
    if text == "begin transaction":
        return "BEGIN (sent with the first statement)"
    written = dict.fromkeys(re.findall(r"(?<!FOR )\b(?:UPDATE|INSERT INTO|DELETE FROM)\s+(\w+)", text))
    if written:
        return "writes " + ", ".join(written)
    read = re.search(r"\bFROM\s+(\w+)", text)
    return f"reads {read.group(1)}" if read else " ".join(text.split()[:2])[:32]


def measure(actions: int, profile: Path | None = None) -> dict[str, Any]:
    """Play rounds until `actions` actions were answered; CPU ms per action and per deal."""
    os.environ["GBC_AFTER_RESPONSE"] = "host"
    from gbc.after_response import drain

    ((user_id, _),) = make_players(1, games_each=0)
    call = in_process_client(uuid.UUID(str(user_id)))
    for _ in range(20):  # warm-up: imports, connections, caches
        status, game = call("POST", "/api/game", {"betAmount": "1"})
        while game["state"] != "ENDED":
            status, game = call("POST", "/api/game/action", {"gameId": game["id"], "action": _next_action(game)})
        drain()
    profiler: Any = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
    action_cpu: list[float] = []
    ending_cpu: list[float] = []
    waits = Waits()
    spent: dict[str, list[dict[str, float]]] = {"action": [], "action_that_ends_the_round": []}
    deal_cpu: list[float] = []
    after_cpu: list[float] = []
    with waits.installed():
        while len(action_cpu) < actions:
            t = time.process_time()
            status, game = call("POST", "/api/game", {"betAmount": "1"})
            deal_cpu.append((time.process_time() - t) * 1000)
            while game["state"] != "ENDED":
                body = {"gameId": game["id"], "action": _next_action(game)}
                if profiler is not None:
                    profiler.enable()
                waits.spent, waits.on = {}, True
                wall, t = time.perf_counter(), time.process_time()
                status, game = call("POST", "/api/game/action", body)
                cpu = (time.process_time() - t) * 1000
                wall = (time.perf_counter() - wall) * 1000
                waits.on = False
                if profiler is not None:
                    profiler.disable()
                if status != 200:
                    raise RuntimeError(f"action failed: {status} {game}")
                action_cpu.append(cpu)
                parts = {"wall": wall, "cpu": cpu, **waits.spent}
                parts[_REST] = wall - cpu - sum(waits.spent.values())
                spent["action"].append(parts)
                if game["state"] == "ENDED":
                    ending_cpu.append(cpu)
                    spent["action_that_ends_the_round"].append(parts)
            t = time.process_time()
            drain()
            after_cpu.append((time.process_time() - t) * 1000)
    if profile is not None:
        import io
        import pstats

        profile.parent.mkdir(parents=True, exist_ok=True)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(40)
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(60)
        profile.write_text(text.getvalue())
        profiler.dump_stats(str(profile.with_suffix(".prof")))  # for pstats / snakeviz

    def stats(samples: list[float]) -> dict[str, float]:
        ordered = sorted(samples)
        return {
            "mean_ms": round(statistics.fmean(ordered), 3),
            "p50_ms": round(ordered[len(ordered) // 2], 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
            "n": len(ordered),
        }

    return {
        "action": stats(action_cpu),
        "action_that_ends_the_round": stats(ending_cpu),
        "deal": stats(deal_cpu),
        "after_the_response_per_round": stats(after_cpu),
        "wall_time_mean_ms": {name: _means(samples) for name, samples in spent.items()},
    }


_REST = "waiting for a CPU, and the rest"


def _order(part: str) -> tuple[int, str]:
    """wall, cpu, the waits (postgres, then redis), the rest."""
    first = {"wall": 0, "cpu": 1, _REST: 4}
    return first.get(part, 3 if part == "redis" else 2), part


def _means(samples: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each part (an exchange a call did not make counts as 0): the parts add up to the wall."""
    keys = sorted(dict.fromkeys(k for sample in samples for k in sample), key=_order)
    return {k: round(statistics.fmean(sample.get(k, 0.0) for sample in samples), 3) for k in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__)
    parser.add_argument("--actions", "-n", type=int, default=500)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args(argv)
    from bench.__main__ import running_stack
    from devstack.metrics_file import route_metric_lines
    from devstack.runtime import apply_environment

    with tempfile.TemporaryDirectory(prefix="gbc-bench-cpu-") as tmp, running_stack(Path(tmp)) as (_, env):
        apply_environment(env)
        # The handlers' EMF lines (in-process calls) to a file, as a container's, not amid the report.
        route_metric_lines(Path(tmp) / "bench-metrics.jsonl")
        report = measure(args.actions, args.profile)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
