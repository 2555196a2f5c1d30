"""Push latency: from the answer of the action that ends a round (its transaction has committed) to
the `game.ended` push on the player's WebSocket, through the events queue, the notifier and the
@connections API of the local stack. One player, rounds played back to back.

`python -m bench.realtime -n 100`: p50/p95/p99 in ms, and the JSON in bench/results/."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stats import summarize


def measure(base: str, rounds: int) -> dict[str, Any]:
    from websockets.sync.client import connect

    from bench.game import http_client, make_players

    ((_, token),) = make_players(1, games_each=0)
    call = http_client(base, token)
    status, grant = call("POST", "/api/realtime/ticket")
    if status != 201:
        raise RuntimeError(f"no ticket: {status} {grant}")
    samples: list[float] = []
    with connect(f"{grant['url']}?ticket={grant['ticket']}", open_timeout=10) as ws:
        started = time.perf_counter()
        while len(samples) < rounds:
            status, game = call("POST", "/api/game", {"betAmount": "1"})
            while game["state"] != "ENDED":
                status, game = call("POST", "/api/game/action", {"gameId": game["id"], "action": "stand"})
            answered = time.perf_counter()
            while True:
                event = json.loads(ws.recv(timeout=10))
                if event["type"] == "game.ended" and event["data"]["game"]["id"] == game["id"]:
                    samples.append((time.perf_counter() - answered) * 1000)
                    break
        return summarize(samples, time.perf_counter() - started, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__)
    parser.add_argument("--rounds", "-n", type=int, default=100)
    args = parser.parse_args(argv)
    from bench.__main__ import RESULTS, running_stack
    from devstack.runtime import apply_environment

    with tempfile.TemporaryDirectory(prefix="gbc-bench-rt-") as tmp, running_stack(Path(tmp)) as (base, env):
        apply_environment(env)
        report = {"commit_to_push": measure(base, args.rounds)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"realtime-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    r = report["commit_to_push"]
    latency = f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms"
    print(f"commit -> game.ended push: {latency} ({args.rounds} rounds)")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
