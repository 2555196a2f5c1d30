"""Queue benchmarks: what one worker process sustains per job type (its handler called with SQS
batches of 10, no queue in between), the enqueue latency (outbox row + commit + SendMessageBatch),
and the enqueue-to-processed latency through the running stack's SQS and worker mapping."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from bench.stats import summarize

BATCH = 10


def _users(count: int) -> list[tuple[uuid.UUID, str]]:
    from gbc.data.models import User
    from gbc.data.transaction import unit_of_work

    rows = [
        {"wallet_address": "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8], "balance": Decimal(10**6)}
        for _ in range(count)
    ]
    with unit_of_work() as uow:
        uow.session.execute(insert(User), rows)
        return [(u.id, u.wallet_address) for u in uow.session.execute(select(User.id, User.wallet_address)).all()][
            -count:
        ]


def _payload_factories(users: list[tuple[uuid.UUID, str]], count: int) -> dict[str, Callable[[int], Any]]:
    from gbc.data.models import GameResult, Withdrawal
    from gbc.data.transaction import unit_of_work
    from gbc.messages import (
        AuditLogPayload,
        ChainEventPayload,
        DepositEventPayload,
        FaucetEventPayload,
        StatsRecomputePayload,
        TransactionCreatePayload,
        WithdrawEventPayload,
    )
    from tests.support.games import add_ended_games

    nonce_base = int(time.time() * 1000) * 10_000
    with unit_of_work() as uow:
        uow.session.execute(
            insert(Withdrawal),
            [
                {
                    "user_id": users[i % len(users)][0],
                    "amount": Decimal(1),
                    "to_address": users[i % len(users)][1],
                    "nonce": nonce_base + i,
                    "deadline": datetime.now(UTC) + timedelta(hours=1),
                }
                for i in range(count)
            ],
        )
    for user_id, _ in users[:20]:
        add_ended_games(user_id, [GameResult.WIN, GameResult.LOSE, GameResult.PUSH, GameResult.BLACKJACK] * 25)

    def chain(
        i: int, nonce: int | None = None, kind: type[ChainEventPayload] = DepositEventPayload
    ) -> ChainEventPayload:
        user = users[i % len(users)]
        return kind(
            chainId=31337,
            txHash="0x" + uuid.uuid4().hex * 2,
            logIndex=0,
            blockNumber=i,
            blockHash="0x" + f"{i:064x}",
            address=user[1],
            amount=Decimal("1.5"),
            nonce=nonce,
        )

    return {
        "audit:log": lambda i: AuditLogPayload(action="bench", resource="user", userId=users[i % len(users)][0]),
        "transaction:create": lambda i: TransactionCreatePayload(
            userId=users[i % len(users)][0], type="ADMIN_ADJUSTMENT", amount=Decimal(1), referenceId=uuid.uuid4().hex
        ),
        "stats:recompute": lambda i: StatsRecomputePayload(userId=users[i % 20][0]),
        "blockchain:deposit": chain,
        "blockchain:faucet": lambda i: chain(i, kind=FaucetEventPayload),
        "blockchain:withdraw": lambda i: chain(i, nonce=nonce_base + i, kind=WithdrawEventPayload),
    }


def worker_throughput(jobs_per_type: int) -> dict[str, Any]:
    import worker_app

    from devstack.runtime import LocalContext
    from gbc.observability import logger

    logger.setLevel("WARNING")  # a log line per job would measure the terminal
    from devstack.sqs_pump import sqs_event
    from gbc.queue.jobs import new_job

    users = _users(200)
    factories = _payload_factories(users, jobs_per_type)
    results: dict[str, Any] = {}
    for job_type, factory in factories.items():
        events = []
        for start in range(0, jobs_per_type, BATCH):
            messages = []
            for i in range(start, min(start + BATCH, jobs_per_type)):
                job = new_job(factory(i))
                messages.append(
                    {
                        "MessageId": str(job.id),
                        "ReceiptHandle": str(job.id),
                        "Body": job.to_message(),
                        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                    }
                )
            events.append(sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:gbc-local-jobs"))
        failures = 0
        batch_ms = []
        started = time.perf_counter()
        for event in events:
            t = time.perf_counter()
            failures += len(
                worker_app.lambda_handler(event, LocalContext("WorkerFunction", 1024, 30))["batchItemFailures"]
            )
            batch_ms.append((time.perf_counter() - t) * 1000)
        wall = time.perf_counter() - started
        results[job_type] = {
            "jobs": jobs_per_type,
            "jobs_per_s": round(jobs_per_type / wall, 1),
            "per_job_ms": round(wall * 1000 / jobs_per_type, 3),
            "batch_p50_ms": summarize(batch_ms, wall)["p50_ms"],
            "failures": failures,
        }
    return results


def enqueue_latency(count: int) -> dict[str, Any]:
    """enqueue_job in its own transaction: outbox insert, commit, SendMessageBatch, outbox delete."""
    from gbc.messages import AuditLogPayload
    from gbc.queue.outbox import enqueue_job

    samples = []
    started = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        enqueue_job(AuditLogPayload(action=f"latency-{i}", resource="bench"))
        samples.append((time.perf_counter() - t) * 1000)
    return summarize(samples, time.perf_counter() - started)


def enqueue_to_processed(count: int, rate_per_s: float) -> dict[str, Any]:
    """Jobs enqueued at a steady rate; latency = the worker's commit time - the job's createdAt."""
    from gbc.data.database import get_engine
    from gbc.messages import AuditLogPayload
    from gbc.queue.outbox import enqueue_job

    ids = []
    interval = 1 / rate_per_s
    started = time.perf_counter()
    for i in range(count):
        ids.append(enqueue_job(AuditLogPayload(action=f"e2p-{i}", resource="bench")))
        time.sleep(max(0.0, started + (i + 1) * interval - time.perf_counter()))
    deadline = time.monotonic() + 60
    query = text("SELECT job_id, extract(epoch FROM processed_at) * 1000 FROM processed_jobs WHERE job_id = ANY(:ids)")
    while True:
        with get_engine().connect() as conn:
            rows: dict[Any, Any] = dict(conn.execute(query, {"ids": [j.id for j in ids]}).all())
        if len(rows) == count or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    samples = [float(rows[j.id]) - j.created_at.timestamp() * 1000 for j in ids if j.id in rows]
    result = summarize(samples, count / rate_per_s)
    result["lost"] = count - len(rows)
    result["rate_per_s"] = rate_per_s
    return result
