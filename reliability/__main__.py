"""python -m reliability [--full] [--runs schemathesis,load,leaks,faults]: start a fresh local stack
per run group, run the suite, print the summaries and write bench/results/reliability-*.json.
Exits 1 when an invariant is violated, a row leaked, or a 5xx appeared that no fault explains."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from reliability import runs
from reliability.stack import LocalStack

RUNS = ("schemathesis", "load", "leaks", "faults")


def failed(report: dict[str, Any]) -> bool:
    run = report["run"]
    if run == "schemathesis":
        return bool(report["failingCases"])
    if run == "load":
        return bool(report["http"]["serverErrors"]) or not report["invariants"]["allHold"]
    if run == "leaks":
        return bool(report["leaks"]) or bool(report["badRequestsNot4xx"])
    return (
        bool(report.get("controlApiMissing"))
        or bool(report["serverErrors"]["unexpected5xx"])
        or bool(report["http"]["final5xx"].get("keyed"))  # a careful client retries until it has an answer
        or not report["invariants"]["allHold"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    parser.add_argument("--full", action="store_true", help="full budgets (also RELIABILITY_FULL=1)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated subset of {','.join(RUNS)}")
    args = parser.parse_args(argv)
    budgets = runs.Budgets.of(True) if args.full else runs.Budgets.from_env()
    wanted = [r.strip() for r in args.runs.split(",") if r.strip()]
    reports = []
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        # The faults run gets a stack of its own: what it breaks must not count against the others.
        groups = [[r for r in wanted if r != "faults"], [r for r in wanted if r == "faults"]]
        for i, group in enumerate(g for g in groups if g):
            with LocalStack(Path(tmp) / f"stack{i}") as stack:
                for run in group:
                    report = getattr(runs, "fuzz" if run == "schemathesis" else run)(stack, budgets)
                    print(runs.summary(report), flush=True)
                    reports.append(report)
    bad = [r["run"] for r in reports if failed(r)]
    print(f"[reliability] {'FAILED: ' + ', '.join(bad) if bad else 'all runs passed'}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
