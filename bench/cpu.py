"""CPU per game action, in-process: the API handler's process CPU time (time.process_time) around
each call, over a played sequence of rounds (deal, then actions until the round ends), one player
at a time. What the handler leaves for after its response (the outbox's delivery) is measured apart.

`python -m bench.cpu -n 500 [--profile out.txt]`: with --profile, cProfile (timed by process CPU, so
waiting for PostgreSQL or Redis does not count) records the actions; the functions with the most
CPU of their own, then the most CPU below them, are written to the file."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.game import _next_action, in_process_client, make_players


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
    deal_cpu: list[float] = []
    after_cpu: list[float] = []
    while len(action_cpu) < actions:
        t = time.process_time()
        status, game = call("POST", "/api/game", {"betAmount": "1"})
        deal_cpu.append((time.process_time() - t) * 1000)
        while game["state"] != "ENDED":
            body = {"gameId": game["id"], "action": _next_action(game)}
            if profiler is not None:
                profiler.enable()
            t = time.process_time()
            status, game = call("POST", "/api/game/action", body)
            spent = (time.process_time() - t) * 1000
            if profiler is not None:
                profiler.disable()
            if status != 200:
                raise RuntimeError(f"action failed: {status} {game}")
            action_cpu.append(spent)
            if game["state"] == "ENDED":
                ending_cpu.append(spent)
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
    }


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
