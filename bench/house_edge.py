"""python -m bench.house_edge: the house edge of the game's rules under basic strategy, measured by playing
hands through the real engine (gbc.blackjack deal/apply and basic_strategy), each round
with its own freshly shuffled 6-deck shoe, spread over several processes with distinct seeds.

The shoe here is RandomShoe: the same lazy forward Fisher-Yates as the game's FairShoe (both are
gbc.blackjack.LazyShoe) but drawing from a seeded random.Random instead of the HMAC-SHA256 stream.
The edge depends on the rules and the strategy, not on where uniform numbers come from, and the
simulation is then reproducible from --seed and not slowed by hashing.

Reported: hands, initial bets (one unit a hand), net result, house edge = -net / initial bets, its 95%
confidence interval from the per-hand standard deviation, hands/s. Writes JSON to bench/results/ and exits
1 when the edge is outside 0.2%..0.6% (these rules should give about 0.3-0.4%).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from bench.progress import Progress
from gbc.blackjack import DECKS, LazyShoe, Phase, apply, basic_strategy, deal

RESULTS = Path(__file__).resolve().parent / "results"
BET = Decimal(1)
EDGE_RANGE = (0.2, 0.6)  # percent
PROGRESS_EVERY = 10_000  # hands between two reports of a process
RULES = "6 decks reshuffled every round, S17, 3:2, peek, DAS, split to 4, no resplit aces, late surrender"


class RandomShoe(LazyShoe):
    """FairShoe's lazy shuffle, drawing from a random.Random (see the module docstring)."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(DECKS)
        self._rng = rng

    def rand_below(self, m: int) -> int:
        return self._rng.randrange(m)


def simulate(hands: int, seed: int, report: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Play `hands` rounds of one unit each; sums of the per-round net (and its square) for the statistics.
    `report(n)` hears of every PROGRESS_EVERY hands played."""
    rng = random.Random(seed)
    net_sum = net_squares = wagered = 0.0
    results: Counter[str] = Counter()
    for played in range(1, hands + 1):
        if report is not None and played % PROGRESS_EVERY == 0:
            report(PROGRESS_EVERY)
        shoe = RandomShoe(rng)
        round_ = deal(BET, shoe)
        while round_.phase is not Phase.ENDED:
            round_ = apply(round_, basic_strategy(round_), shoe)
        outcome = round_.outcome
        assert outcome is not None
        net = float(outcome.net_profit)  # a multiple of 0.5 units: exact as a float
        net_sum += net
        net_squares += net * net
        wagered += float(outcome.total_wagered)
        results[outcome.result] += 1
    if report is not None:
        report(hands % PROGRESS_EVERY)
    return {"hands": hands, "seed": seed, "net": net_sum, "net_squares": net_squares, "wagered": wagered, **results}


# The hands played so far by every pool process (set by the pool's initializer), for the progress line.
_played: Synchronized[int] | None = None


def _share_counter(counter: Synchronized[int]) -> None:
    global _played
    _played = counter


def _count(hands: int) -> None:
    assert _played is not None
    with _played.get_lock():
        _played.value += hands


def _simulate_counted(hands: int, seed: int) -> dict[str, Any]:
    return simulate(hands, seed, _count)


def run(chunks: list[tuple[int, int]], progress: Progress) -> list[dict[str, Any]]:
    """Each chunk (hands, seed) in its own process; the progress line follows the shared count."""
    if len(chunks) == 1:
        return [simulate(*chunks[0], report=progress.advance)]
    counter: Synchronized[int] = multiprocessing.Value("q", 0)
    with multiprocessing.Pool(len(chunks), initializer=_share_counter, initargs=(counter,)) as pool:
        pending = pool.starmap_async(_simulate_counted, chunks)
        while not pending.ready():
            pending.wait(0.2)
            progress.set(counter.value)
        parts = pending.get()
    progress.set(counter.value)
    return parts


def summarize(parts: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    hands = sum(part["hands"] for part in parts)
    net = sum(part["net"] for part in parts)
    squares = sum(part["net_squares"] for part in parts)
    mean = net / hands
    sd = math.sqrt(max(squares / hands - mean * mean, 0.0) * hands / max(hands - 1, 1))
    edge = -mean * 100
    half_width = 1.96 * sd / math.sqrt(hands) * 100
    results: Counter[str] = Counter()
    for part in parts:
        results.update({key: part.get(key, 0) for key in ("WIN", "LOSE", "PUSH", "BLACKJACK", "SURRENDER")})
    return {
        "rules": RULES,
        "strategy": "basic strategy, never insurance",
        "hands": hands,
        "processes": len(parts),
        "seeds": [part["seed"] for part in parts],
        "initial_bets": hands * float(BET),
        "total_wagered": sum(part["wagered"] for part in parts),
        "net": net,
        "house_edge_pct": round(edge, 4),
        "ci95_pct": [round(edge - half_width, 4), round(edge + half_width, 4)],
        "sd_per_hand": round(sd, 4),
        "results": dict(results),
        "wall_s": round(wall_s, 2),
        "hands_per_s": round(hands / wall_s, 1),
        "expected_range_pct": list(EDGE_RANGE),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }


def print_report(report: dict[str, Any]) -> None:
    low, high = report["ci95_pct"]
    rows = [
        ("rules", report["rules"]),
        ("hands", f"{report['hands']:,}"),
        ("processes", f"{report['processes']} (seeds {', '.join(map(str, report['seeds']))})"),
        ("initial bets", f"{report['initial_bets']:,.0f} units"),
        ("total wagered", f"{report['total_wagered']:,.1f} units"),
        ("net result", f"{report['net']:+,.1f} units"),
        ("house edge", f"{report['house_edge_pct']:.3f}%  (95% CI {low:.3f}% .. {high:.3f}%)"),
        ("sd per hand", f"{report['sd_per_hand']:.3f} units"),
        ("results", ", ".join(f"{k} {v:,}" for k, v in report["results"].items())),
        ("speed", f"{report['hands_per_s']:,.0f} hands/s, {report['wall_s']:.1f} s wall"),
    ]
    for name, value in rows:
        print(f"{name:<15}{value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.house_edge", description=__doc__)
    parser.add_argument("--hands", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, help="base seed; process i uses seed + i (default: random)")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/house_edge-<time>.json)")
    args = parser.parse_args(argv)
    if args.hands < 1 or args.processes < 1:
        parser.error("--hands and --processes must be at least 1")

    base_seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    processes = min(args.processes, args.hands)
    chunks = [(args.hands // processes + (i < args.hands % processes), base_seed + i) for i in range(processes)]
    start = time.perf_counter()
    with Progress("hands", total=args.hands) as progress:
        parts = run(chunks, progress)
    report = summarize(parts, time.perf_counter() - start)

    print_report(report)
    out = args.out or RESULTS / f"house_edge-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {out}")
    low, high = EDGE_RANGE
    if not low <= report["house_edge_pct"] <= high:
        print(f"house edge {report['house_edge_pct']:.3f}% is outside {low}%..{high}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
