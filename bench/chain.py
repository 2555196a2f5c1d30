"""python -m bench.chain: the poller's throughput and the latency from a chain event to the credited
balance, on the local stack (`make dev`'s hardhat node, PostgreSQL, Redis, moto SQS and workers).

- throughput: N Deposit logs packed into blocks of --per-block transactions, then one poller run
  from the deployment block: logs decoded, stored and enqueued per second (the poller alone), and
  logs credited per second (until the stack's workers have credited every deposit).
- latency: one deposit at a time; the clock starts when its block and its confirmations are mined
  and stops when the balance in the database shows it; the poller runs right then, as a schedule
  firing would. On a real chain add N confirmations x block time, and the wait for the schedule
  (the template's is 1 minute: 30 s on average). So this measures what the backend adds, not
  what the chain or the schedule make you wait.
- import: the poller function's handler module, imported in a fresh interpreter with Lambda's
  environment markers (median of 5).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.__main__ import RESULTS, running_stack
from bench.progress import Progress
from bench.stats import summarize
from devstack.template import ROOT

UNIT = 10**15  # 0.001 GBC a deposit: 10,000 GBC per dev account is plenty


def _raw_batch(url: str, raw_txs: list[str]) -> None:
    from gbc.chain.rpc import JsonRpcClient

    for answer in JsonRpcClient(url, timeout=60).batch("eth_sendRawTransaction", [[tx] for tx in raw_txs]):
        assert answer, "a transaction was refused"


def _signed_deposits(w3: Any, vault: Any, key: str, count: int) -> list[str]:
    from eth_account import Account

    account = Account.from_key(key)
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    template = vault.functions.deposit(UNIT).build_transaction(
        {"from": account.address, "nonce": nonce, "chainId": w3.eth.chain_id, "gas": 120_000}
    )
    signed = []
    for i in range(count):
        tx = {**template, "nonce": nonce + i}
        signed.append("0x" + account.sign_transaction(tx).raw_transaction.hex().removeprefix("0x"))
    return signed


def _processed_deposits(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM transactions WHERE type = 'DEPOSIT'")))


def throughput(env: dict[str, str], logs: int, per_block: int, progress: Progress) -> dict[str, Any]:
    from devstack.chain import DEV_KEYS, contracts_of, rpc_call, send, web3_for
    from gbc.chain.poller import ChainPoller
    from gbc.chain.rpc import JsonRpcClient
    from gbc.data.database import get_engine
    from gbc.settings import get_settings

    url = env["CHAIN_RPC_URL"]
    from devstack.chain import Deployment

    deployment = Deployment.from_json((Path(env["DEVSTACK_DATA_DIR"]) / "chain" / "deployment.json").read_text())
    w3 = web3_for(url)
    token, vault, _ = contracts_of(w3, deployment)
    key = DEV_KEYS[6]
    send(w3, key, token.functions.approve(vault.address, 2**255))
    rpc_call(url, "evm_setIntervalMining", [0])
    rpc_call(url, "evm_setAutomine", [False])
    started = time.perf_counter()
    progress.stage("signing deposits", logs)
    signed = _signed_deposits(w3, vault, key, logs)
    progress.set(logs)
    progress.stage("deposits mined", logs)
    for start in range(0, logs, per_block):
        _raw_batch(url, signed[start : start + per_block])
        rpc_call(url, "evm_mine")
        progress.set(min(start + per_block, logs))
    rpc_call(url, "hardhat_mine", [hex(get_settings().chain_confirmations)])
    rpc_call(url, "evm_setAutomine", [True])
    made = time.perf_counter() - started

    before = _processed_deposits(get_engine())
    poller = ChainPoller(JsonRpcClient(url, timeout=60))
    progress.note(f"one poller run over the {logs:,} deposits")
    t0 = time.perf_counter()
    result = poller.poll(budget_seconds=600)
    poll_s = time.perf_counter() - t0
    timings: dict[str, Any] = result.as_dict()
    deadline = time.monotonic() + 600
    progress.stage("deposits credited by the workers", result.stored)
    while (done := _processed_deposits(get_engine()) - before) < result.stored and time.monotonic() < deadline:
        progress.set(done)
        time.sleep(0.05)
    progress.set(_processed_deposits(get_engine()) - before)
    credited_s = time.perf_counter() - t0
    credited = _processed_deposits(get_engine()) - before
    return {
        "logs": logs,
        "blocks": -(-logs // per_block),
        "setup_s": round(made, 1),
        "stored": result.stored,
        "ranges": result.ranges,
        "poll_s": round(poll_s, 2),
        "logs_stored_per_s": round(result.stored / poll_s, 1),
        # The poller's transactions alone (RPC reads, decoding, SQL), and commit + SQS delivery.
        "work_s": timings["workS"],
        "logs_per_s_in_transactions": round(result.stored / timings["workS"], 1) if timings["workS"] else None,
        "commit_and_deliver_s": timings["commitAndDeliverS"],
        "credited": credited,
        "credited_s": round(credited_s, 2),
        "logs_credited_per_s": round(credited / credited_s, 1),
    }


def latency(env: dict[str, str], samples: int, progress: Progress) -> dict[str, Any]:
    """Per deposit: mined (with its confirmations) -> the poller runs, as the schedule would fire ->
    the job goes through the outbox, SQS and the stack's worker -> the balance shows it."""
    from sqlalchemy import text

    from devstack.chain import DEV_KEYS, Deployment, contracts_of, rpc_call, send, web3_for
    from gbc.chain.poller import ChainPoller
    from gbc.chain.rpc import JsonRpcClient
    from gbc.data.database import get_engine
    from gbc.settings import get_settings

    url = env["CHAIN_RPC_URL"]
    deployment = Deployment.from_json((Path(env["DEVSTACK_DATA_DIR"]) / "chain" / "deployment.json").read_text())
    w3 = web3_for(url)
    token, vault, _ = contracts_of(w3, deployment)
    key = DEV_KEYS[7]
    address = w3.eth.account.from_key(key).address.lower()
    send(w3, key, token.functions.approve(vault.address, 2**255))
    confirmations = get_settings().chain_confirmations
    poller = ChainPoller(JsonRpcClient(url))
    poller.poll()  # caught up before the first sample

    def balance() -> Any:
        with get_engine().connect() as conn:
            return conn.scalar(text("SELECT balance FROM users WHERE wallet_address = :a"), {"a": address})

    totals, polls = [], []
    progress.stage("latency samples", samples)
    for _ in range(samples):
        progress.advance()
        before = balance() or 0
        send(w3, key, vault.functions.deposit(UNIT))
        rpc_call(url, "hardhat_mine", [hex(confirmations)])
        mined = time.perf_counter()
        poller.poll()
        polls.append((time.perf_counter() - mined) * 1000)
        deadline = time.monotonic() + 30
        while (balance() or 0) == before and time.monotonic() < deadline:
            time.sleep(0.002)
        totals.append((time.perf_counter() - mined) * 1000)
    summary = summarize(totals, sum(totals) / 1000)
    summary["poll"] = summarize(polls, sum(polls) / 1000)
    return summary


def import_time(runs: int = 5) -> dict[str, float]:
    script = "import time; t = time.perf_counter(); import chain_poller_app; print((time.perf_counter() - t) * 1000)"
    samples = []
    for _ in range(runs):
        # What Lambda sets (the X-Ray SDK, for one, skips its sampling client when it sees these).
        lambda_env = {
            "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "chain_poller"),
            "AWS_LAMBDA_FUNCTION_NAME": "ChainPollerFunction",
        }
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**os.environ, **lambda_env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]))
    return {"median_ms": round(statistics.median(samples), 1), "min_ms": round(min(samples), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__)
    parser.add_argument("--logs", type=int, default=5000)
    parser.add_argument("--per-block", type=int, default=250)
    parser.add_argument("--latency-samples", type=int, default=50)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    report: dict[str, Any] = {"import": import_time()}
    with tempfile.TemporaryDirectory(prefix="gbc-bench-chain-") as tmp, running_stack(Path(tmp)) as (_, env):
        from devstack.runtime import apply_environment

        env = {**env, "DEVSTACK_DATA_DIR": tmp}
        apply_environment(env)
        with Progress("chain") as progress:
            report["throughput"] = throughput(env, args.logs, args.per_block, progress)
            report["latency"] = latency(env, args.latency_samples, progress)

    t, lat = report["throughput"], report["latency"]
    print(f"poller import (fresh interpreter): median {report['import']['median_ms']} ms")
    print(
        f"throughput: {t['stored']} logs in {t['blocks']} blocks, {t['ranges']} ranges: stored in {t['poll_s']} s "
        f"= {t['logs_stored_per_s']} logs/s; all credited after {t['credited_s']} s = {t['logs_credited_per_s']}/s"
    )
    print(
        f"  of the poll: reading + storing {t['work_s']} s ({t['logs_per_s_in_transactions']} logs/s), "
        f"commit + sending the jobs to SQS {t['commit_and_deliver_s']} s"
    )
    print(
        f"event -> credited balance (poll fired at once, confirmations mined at once): "
        f"p50 {lat['p50_ms']:.1f} ms  p95 {lat['p95_ms']:.1f} ms  p99 {lat['p99_ms']:.1f} ms  (n={lat['n']}); "
        f"of which the poll: p50 {lat['poll']['p50_ms']:.1f} ms  p99 {lat['poll']['p99_ms']:.1f} ms"
    )
    out = args.out or RESULTS / f"chain-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")
    ok = t["credited"] == t["stored"] == t["logs"] and lat["n"] == args.latency_samples
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
