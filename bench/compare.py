"""make bench-compare: the counterpart of the seed's `npm run db:profile:compare`.

1. The same realistic workload (mostly reads, some games that invalidate) with the cache off, then
   on: mean, p50 and p99 per route and the reduction, plus the hit rate after warm-up.
2. History uncached p50 as the games table grows (10k -> 100k -> 1M rows).
3. Invalidation time as one user's cached keys grow (10 -> 10k keys).

Runs in-process (the API handler called directly) against the local stack's PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.progress import Progress
from bench.stats import summarize

RESULTS = Path(__file__).resolve().parent / "results"
MIX = [  # (weight, route) - a player's session is mostly looking at things
    (30, "history"),
    (15, "stats"),
    (20, "wallet"),
    (10, "transactions"),
    (10, "game"),
    (5, "leaderboard"),
    (10, "play"),
]


def _set_cache(enabled: bool) -> None:
    from gbc.settings import get_settings

    os.environ["CACHE_ENABLED"] = "true" if enabled else "false"
    get_settings.cache_clear()


def _workload(players: dict[uuid.UUID, Any], requests: int, seed: int, progress: Progress) -> dict[str, list[float]]:
    rng = random.Random(seed)
    users = list(players)
    last_game: dict[uuid.UUID, str] = {}
    routes = [r for w, r in MIX for _ in range(w)]
    samples: dict[str, list[float]] = {r: [] for _, r in MIX}
    for _ in range(requests):
        progress.advance()
        user = rng.choice(users)
        player, route = players[user], rng.choice(routes)
        call = player.call
        start = time.perf_counter()
        if route == "play":
            player.action()
            if player.game and player.game["state"] == "ENDED":
                last_game[user] = player.game["id"]
        elif route == "history":
            call("GET", f"/api/history?limit=20&resultFilter={rng.choice(['all', 'all', 'WIN', 'LOSE'])}")
        elif route == "stats":
            call("GET", "/api/stats")
        elif route == "wallet":
            call("GET", "/api/wallet")
        elif route == "transactions":
            call("GET", "/api/transactions?limit=20")
        elif route == "game":
            if user in last_game:
                call("GET", f"/api/game/{last_game[user]}")
            else:
                continue
        elif route == "leaderboard":
            call("GET", f"/api/leaderboard?period={rng.choice(['daily', 'weekly', 'all'])}")
        samples[route].append((time.perf_counter() - start) * 1000)
    return samples


def _hit_counts() -> tuple[int, int]:
    from gbc.cache import LOOKUPS_KEY, MISSES_KEY
    from gbc.cache.client import redis_client

    lookups, misses = redis_client().mget(LOOKUPS_KEY, MISSES_KEY)
    return int(lookups or 0), int(misses or 0)


def compare(users: list[uuid.UUID], requests: int, progress: Progress) -> dict[str, Any]:
    from bench.game import Player, in_process_client

    players = {u: Player(in_process_client(u)) for u in users}  # they keep their rounds across runs
    report: dict[str, Any] = {}
    for label, enabled in (("off", False), ("on", True)):
        _set_cache(enabled)
        progress.stage(f"cache {label}: warm-up requests", requests // 5)
        _workload(players, requests // 5, seed=1, progress=progress)
        before = _hit_counts()
        started = time.perf_counter()
        progress.stage(f"cache {label}: requests", requests)
        samples = _workload(players, requests, seed=2, progress=progress)
        wall = time.perf_counter() - started
        after = _hit_counts()
        report[label] = {route: summarize(ms, wall) for route, ms in samples.items() if ms}
        if enabled:
            lookups, misses = after[0] - before[0], after[1] - before[1]
            report["hit_rate"] = round((lookups - misses) * 100 / lookups, 1) if lookups else None
    report["reduction"] = {
        route: {
            "mean_pct": round((1 - report["on"][route]["mean_ms"] / report["off"][route]["mean_ms"]) * 100, 1),
            "p99_pct": round((1 - report["on"][route]["p99_ms"] / report["off"][route]["p99_ms"]) * 100, 1),
        }
        for route in report["on"]
        if route in report["off"]
    }
    return report


def history_curve(user_id: uuid.UUID, sizes: list[int], progress: Progress, samples: int = 200) -> list[dict[str, Any]]:
    """History uncached p50 for one user (1000 games) as other users' games fill the table."""
    from sqlalchemy import text

    from bench.game import in_process_client
    from gbc.data.database import build_engine
    from gbc.settings import get_settings

    _set_cache(False)
    call = in_process_client(user_id)
    # pg8000's timeout is per socket read: bulk inserts need far more than a request's 5 s.
    bulk = build_engine(get_settings().model_copy(update={"db_connect_timeout": 600.0}))
    curve = []
    for size in sizes:
        progress.stage(f"games table to {size:,} rows", size)
        while True:
            with bulk.begin() as conn:
                have = conn.execute(text("SELECT count(*) FROM games")).scalar_one()
                progress.set(min(have, size))
                if size <= have:
                    break
                batch = min(size - have, 200_000)
                # Other players' ended games, inserted set-wise by the database.
                conn.execute(
                    text(
                        """
                        WITH players AS (
                            INSERT INTO users (wallet_address)
                            SELECT '0x' || lpad(to_hex(CAST(:base AS bigint) + g), 40, '0')
                            FROM generate_series(1, :players) g
                            RETURNING id
                        ), numbered AS (SELECT id, row_number() OVER () AS n FROM players)
                        INSERT INTO games (user_id, state, bet_amount, hands, dealer_hand, result, win_amount,
                                           net_profit, fairness, created_at, ended_at)
                        SELECT p.id, 'ENDED', 10, '{}', '{}',
                               (ARRAY['WIN','LOSE','PUSH','BLACKJACK','SURRENDER'])[1 + mod(g, 5)]::game_result,
                               10, 0, '{}', now() - make_interval(secs => g), now() - make_interval(secs => g)
                        FROM generate_series(1, :rows) g JOIN numbered p ON p.n = 1 + mod(g, :players)
                        """
                    ),
                    {"rows": batch, "players": max(1, batch // 1000), "base": 10**12 + have},
                )
        with bulk.begin() as conn:
            conn.execute(text("ANALYZE games"))
        for _ in range(20):
            call("GET", "/api/history?limit=20")
        times = []
        progress.stage(f"history reads at {size:,} games", samples)
        for i in range(samples):
            progress.advance()
            start = time.perf_counter()
            call("GET", f"/api/history?limit=20&resultFilter={['all', 'WIN', 'LOSE'][i % 3]}")
            times.append((time.perf_counter() - start) * 1000)
        curve.append({"games": size, **summarize(times, sum(times) / 1000)})
    _set_cache(True)
    return curve


def invalidation_curve(key_counts: list[int], progress: Progress) -> list[dict[str, Any]]:
    from gbc.cache import invalidate_user_caches
    from gbc.cache.client import redis_client

    results = []
    for count in key_counts:
        progress.stage(f"invalidations with {count:,} keys", 200)
        user = uuid.uuid4()
        pipe = redis_client().pipeline(transaction=False)
        for i in range(count):
            pipe.set(f"query:user_history:g0:{user}:{i}:all:20", b"{}", ex=600)
        pipe.execute()
        times = []
        for _ in range(200):
            progress.advance()
            start = time.perf_counter()
            invalidate_user_caches(user)
            times.append((time.perf_counter() - start) * 1000)
        results.append({"keys": count, **summarize(times, sum(times) / 1000)})
    return results


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import running_stack

    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", "-n", type=int, default=3000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="games-table sizes for the history curve")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gbc-compare-") as tmp, running_stack(Path(tmp)) as (_, env):
        from devstack.runtime import apply_environment

        apply_environment({**env, "LOG_LEVEL": "WARNING"})
        from bench.game import make_players
        from gbc.observability import logger

        logger.setLevel("WARNING")
        print(f"making {args.users} players with 500 games each", file=sys.stderr, flush=True)
        users = [uid for uid, _ in make_players(args.users, games_each=500)]
        with Progress("requests") as progress:
            report: dict[str, Any] = {"workload": compare(users, args.requests, progress)}
            report["invalidation"] = invalidation_curve([10, 100, 1000, 10000], progress)
            sizes = [int(s) for s in args.sizes.split(",")]
            report["history_uncached_curve"] = history_curve(users[0], sizes, progress)
    _print(report)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"compare-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {out}")
    return 0


def _print(report: dict[str, Any]) -> None:
    workload = report["workload"]
    print("\ncache off vs on, the same realistic workload (in-process, one player at a time)")
    header = ("route", "off mean", "on mean", "-mean%", "off p99", "on p99", "-p99%", "on p50")
    print(f"{header[0]:<14}" + "".join(f"{h:>10}" for h in header[1:]))
    for route, red in workload["reduction"].items():
        off, on = workload["off"][route], workload["on"][route]
        print(
            f"{route:<14}{off['mean_ms']:>10.2f}{on['mean_ms']:>10.2f}{red['mean_pct']:>10.1f}"
            f"{off['p99_ms']:>10.2f}{on['p99_ms']:>10.2f}{red['p99_pct']:>10.1f}{on['p50_ms']:>10.2f}"
        )
    print(f"hit rate after warm-up: {workload['hit_rate']}%")
    print("\ninvalidation time as a user's cached keys grow")
    for row in report["invalidation"]:
        print(f"  {row['keys']:>6} keys: p50 {row['p50_ms']:.3f} ms  p99 {row['p99_ms']:.3f} ms")
    print("\nhistory (uncached) p50 as the games table grows")
    base = report["history_uncached_curve"][0]["p50_ms"]
    for row in report["history_uncached_curve"]:
        ratio = row["p50_ms"] / base
        print(f"  {row['games']:>8} games: p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms  ({ratio:.2f}x)")


if __name__ == "__main__":
    raise SystemExit(main())
