"""The job queue: every handler's effect exactly once, backoff to the DLQ, SQS outages, the nightly
fan-out, retention, queue stats and the DLQ redrive. Real PostgreSQL and Redis, moto SQS."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal
from unittest import mock

import boto3
import pytest
from sqlalchemy import func, select, text

from gbc.data.models import (
    AuditLog,
    GameResult,
    OutboxJob,
    SystemConfig,
    Transaction,
    TransactionType,
    User,
    Withdrawal,
    WithdrawalStatus,
)
from gbc.data.transaction import unit_of_work
from gbc.jobs.runner import is_database_outage
from gbc.messages import AuditLogPayload, ChainEventPayload, StatsRecomputePayload, TransactionCreatePayload
from gbc.queue import backoff, publisher, redrive, retention
from gbc.queue.jobs import new_job
from gbc.queue.outbox import enqueue_job, sweep_outbox
from gbc.queue.sqs import sqs_client
from gbc.queue.status import get_queue_stats
from gbc.stats.nightly import fan_out_recompute
from gbc.stats.service import public, stats_key
from tests.support.factories import make_user
from tests.support.games import add_ended_games
from tests.support.jobs import message_of
from tests.support.sqs import receive, run_worker

TX = "0x" + "ab" * 32


def _count(model, *where) -> int:
    with unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def _balance(user_id) -> Decimal:
    with unit_of_work() as uow:
        return uow.session.get(User, user_id).balance


def _chain_payload(address: str, amount: str = "25.5", log_index: int = 0, nonce: int | None = None):
    return ChainEventPayload(
        chainId=31337,
        txHash=TX,
        logIndex=log_index,
        blockNumber=12,
        blockHash="0x" + "c" * 64,
        address=address,
        amount=Decimal(amount),
        nonce=nonce,
    )


def _deliver_via_sqs(services, job_type, payload, queue="JobsQueue"):
    enqueue_job(message_of(job_type, payload))
    messages = receive(services["queues"][queue])
    assert len(messages) == 1
    return messages


# ---------------------------------------------------------------- handlers, exactly once


@pytest.mark.parametrize(
    ("job_type", "kind"),
    [("blockchain:deposit", TransactionType.DEPOSIT), ("blockchain:faucet", TransactionType.FAUCET)],
)
def test_chain_credit_once_per_log_even_as_two_jobs(db, services, job_type, kind):
    user = make_user()
    payload = _chain_payload(user.wallet_address)
    messages = _deliver_via_sqs(services, job_type, payload)
    run_worker(messages)
    run_worker(messages)  # the same message redelivered
    run_worker(_deliver_via_sqs(services, job_type, payload))  # the poller replayed the event: a new job
    assert _balance(user.id) == Decimal("25.5")
    assert _count(Transaction, Transaction.type == kind) == 1
    with unit_of_work() as uow:
        row = uow.session.scalars(select(Transaction)).one()
        assert row.reference_id == f"31337:{TX}:0@{'c' * 16}"  # the block hash tells re-mined logs apart
        assert (row.balance_before, row.balance_after) == (Decimal(0), Decimal("25.5"))
        if kind is TransactionType.DEPOSIT:
            assert uow.session.get(User, user.id).total_deposited == Decimal("25.5")


def test_a_deposit_from_an_unknown_wallet_opens_an_account(db, services):
    address = "0x" + "Cd" * 20
    run_worker(_deliver_via_sqs(services, "blockchain:deposit", _chain_payload(address, "3")))
    with unit_of_work() as uow:
        user = uow.session.scalars(select(User).where(User.wallet_address == address.lower())).one()
        assert user.balance == Decimal(3)


def test_withdraw_event_completes_the_held_withdrawal_once(db, services):
    user = make_user()
    with unit_of_work() as uow:
        uow.session.add(
            Withdrawal(
                user_id=user.id,
                amount=Decimal(5),
                to_address=user.wallet_address,
                nonce=Decimal(77),
                deadline=__import__("datetime").datetime(2030, 1, 1, tzinfo=__import__("datetime").UTC),
            )
        )
    payload = _chain_payload(user.wallet_address, "5", nonce=77)
    messages = _deliver_via_sqs(services, "blockchain:withdraw", payload, queue="PriorityQueue")
    assert receive(services["queues"]["JobsQueue"]) == [], "withdrawals go to the priority queue"
    run_worker(messages)
    run_worker(messages)
    run_worker(_deliver_via_sqs(services, "blockchain:withdraw", payload, queue="PriorityQueue"))
    with unit_of_work() as uow:
        withdrawal = uow.session.scalars(select(Withdrawal)).one()
        assert withdrawal.status is WithdrawalStatus.COMPLETED and withdrawal.tx_hash == TX
    assert _count(Transaction) == 0, "the hold already debited the balance"


def test_transaction_create_applies_once(db, services):
    user = make_user(balance=Decimal(10))
    payload = TransactionCreatePayload(
        userId=user.id, type="ADMIN_ADJUSTMENT", amount=Decimal("-4.25"), referenceId="adj-1"
    )
    messages = _deliver_via_sqs(services, "transaction:create", payload)
    run_worker(messages)
    run_worker(messages)
    assert _balance(user.id) == Decimal("5.75")
    assert _count(Transaction) == 1


def test_transaction_create_never_overdraws(db, services):
    user = make_user(balance=Decimal(1))
    payload = TransactionCreatePayload(userId=user.id, type="ADMIN_ADJUSTMENT", amount=Decimal(-2), referenceId="adj-2")
    result = run_worker(_deliver_via_sqs(services, "transaction:create", payload))
    assert len(result["batchItemFailures"]) == 1
    assert _balance(user.id) == Decimal(1)


def test_stats_recompute_aggregates_the_ended_games(db, services):
    user = make_user()
    add_ended_games(
        user.id, [GameResult.WIN, GameResult.BLACKJACK, GameResult.LOSE, GameResult.PUSH, GameResult.SURRENDER]
    )
    run_worker(_deliver_via_sqs(services, "stats:recompute", StatsRecomputePayload(userId=user.id)))
    with unit_of_work() as uow:
        stored = uow.session.get(SystemConfig, stats_key(user.id)).value
    assert set(stored["_watermark"]) == {"endedAt", "gameId"}
    stats = public(stored)
    assert stats == {
        "totalHands": 5,
        "totalBet": "50",
        "totalWin": "60",  # 20 + 25 + 0 + 10 + 5
        "netProfit": "10",
        "winRate": 40.0,
        "wins": 2,
        "losses": 2,
        "pushes": 1,
        "blackjacks": 1,
    }


# ---------------------------------------------------------------- failures and retries


def _spy_visibility(monkeypatch):
    calls: list[int] = []
    client = sqs_client()
    real = client.change_message_visibility

    def spy(**kwargs):
        calls.append(kwargs["VisibilityTimeout"])
        return real(**kwargs)

    monkeypatch.setattr(client, "change_message_visibility", spy)
    return calls


def _max_receive_count(services) -> int:
    attributes = sqs_client().get_queue_attributes(
        QueueUrl=services["queues"]["JobsQueue"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    return int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"])


def test_a_poison_message_reaches_the_dlq_after_eight_receives_with_growing_delays(db, services, monkeypatch):
    monkeypatch.setattr(backoff, "_rng", __import__("random").Random(7))
    delays = _spy_visibility(monkeypatch)
    receives = _max_receive_count(services)
    assert receives == 8, "the queues are built from template.yaml"
    url = services["queues"]["JobsQueue"]
    sqs_client().send_message(QueueUrl=url, MessageBody='{"type": "audit:log", "payload": {"resource": 1}}')
    for receive_count in range(1, receives + 1):
        messages = receive(url)
        assert [int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages] == [receive_count]
        result = run_worker(messages, queue_arn="arn:aws:sqs:us-east-1:123456789012:gbc-local-jobs")
        assert len(result["batchItemFailures"]) == 1
        assert receive(url) == [], "invisible during its backoff"
        # Skip the wait: make it visible now (the delay itself was recorded by the spy).
        sqs_client().change_message_visibility(
            QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
        )
    assert receive(url) == [], "one more receive moves it to the DLQ instead"
    assert len(receive(services["queues"]["JobsDLQ"])) == 1
    delays = [d for d in delays if d]  # the zeros are this test's own fast-forwards
    ceilings = [min(60, 2 * 2 ** (n - 1)) for n in range(1, receives + 1)]  # 2 4 8 16 32 60 60 60
    assert len(delays) == receives
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True)), delays
    # Before the last receive at least 91 s went by: longer than a 60 s database outage.
    assert sum(delays[:-1]) >= backoff.guaranteed_retry_window(receives, 2, 60) == 91
    failed = retention.recent(retention.FAILED_KEY)
    assert [f["attempt"] for f in failed] == list(range(receives, 0, -1))


def test_a_database_outage_fails_the_job_with_a_backoff_and_it_applies_once_the_database_is_back(
    db, services, monkeypatch, override_settings, capsys
):
    user = make_user()
    add_ended_games(user.id, [GameResult.WIN, GameResult.LOSE])
    url = services["queues"]["JobsQueue"]
    messages = _deliver_via_sqs(services, "stats:recompute", StatsRecomputePayload(userId=user.id, gameId=uuid.uuid4()))
    # A real outage: nothing listens on this port (connection refused), as when PostgreSQL restarts.
    with override_settings(DATABASE_URL="postgresql+pg8000://postgres@127.0.0.1:1/gbc", DB_CONNECT_TIMEOUT=1):
        delays = _spy_visibility(monkeypatch)
        result = run_worker(messages, queue_arn="arn:aws:sqs:us-east-1:123456789012:gbc-local-jobs")
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [messages[0]["MessageId"]]
    assert len(delays) == 1 and 1 <= delays[0] <= 2, "the first retry waits the first backoff step"
    emitted = capsys.readouterr().out
    assert '"JobsDatabaseUnavailable"' in emitted and "Traceback" not in emitted
    assert retention.recent(retention.FAILED_KEY)[0]["error"].startswith("InterfaceError")
    with unit_of_work() as uow:
        assert uow.session.get(SystemConfig, stats_key(user.id)) is None, "nothing applied during the outage"
    # The database is back: the retry applies the job.
    sqs_client().change_message_visibility(
        QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    retry = receive(url)
    assert int(retry[0]["Attributes"]["ApproximateReceiveCount"]) == 2
    assert run_worker(retry)["batchItemFailures"] == []
    with unit_of_work() as uow:
        assert public(uow.session.get(SystemConfig, stats_key(user.id)).value)["totalHands"] == 2


def _error_of(sql: str) -> BaseException:
    with pytest.raises(Exception) as caught, unit_of_work() as uow:
        uow.session.execute(text(sql))
    return caught.value


def test_a_dropped_connection_is_a_database_outage_and_a_failing_statement_is_not(db):
    assert is_database_outage(_error_of("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert not is_database_outage(_error_of("SELECT 1 / 0"))
    assert not is_database_outage(ValueError("a bug"))


def test_backoff_is_capped_and_jittered():
    delays = {backoff.visibility_delay(20, 2, 60) for _ in range(50)}
    assert max(delays) <= 60 and min(delays) >= 30 and len(delays) > 1


def test_a_partial_batch_failure_retries_only_the_failed_record(db, services, monkeypatch):
    delays = _spy_visibility(monkeypatch)
    good_user = make_user()
    enqueue_job(AuditLogPayload(action="a", resource="user", userId=good_user.id))
    enqueue_job(
        TransactionCreatePayload(userId=uuid.uuid4(), type="ADMIN_ADJUSTMENT", amount=Decimal(1), referenceId="x"),
    )
    enqueue_job(AuditLogPayload(action="b", resource="user", userId=good_user.id))
    url = services["queues"]["JobsQueue"]
    messages = receive(url)
    assert len(messages) == 3
    result = run_worker(messages, queue_arn="arn:aws:sqs:us-east-1:123456789012:gbc-local-jobs")
    failed_ids = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    bad = next(m for m in messages if "transaction:create" in m["Body"])
    assert failed_ids == [bad["MessageId"]]
    assert len(delays) == 1, "only the failed record got a retry delay"
    assert _count(AuditLog) == 2


# ---------------------------------------------------------------- SQS unavailable


@pytest.fixture
def sqs_down(monkeypatch):
    """Every SQS call fails to connect, as when the endpoint is unreachable."""
    dead = boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=__import__("botocore").config.Config(connect_timeout=0.2, retries={"max_attempts": 1}),
    )
    monkeypatch.setattr(publisher, "sqs_client", lambda: dead)
    return dead


def test_sqs_down_jobs_are_processed_directly_and_nothing_is_lost(db, services, sqs_down):
    user = make_user()
    from tests.support.api import call_api

    response = call_api("PATCH", "/api/user", body={"username": "offline"}, user_id=user.id)
    assert response.status == 200
    assert _count(AuditLog) == 1, "processed directly, in the request"
    assert _count(OutboxJob) == 0
    run_worker_payload = _chain_payload(user.wallet_address, "2")
    enqueue_job(message_of("blockchain:deposit", run_worker_payload))
    assert _balance(user.id) == Decimal(2)


def test_sqs_down_and_direct_processing_failing_leaves_the_job_for_the_sweep(
    db, services, sqs_down, monkeypatch, override_settings
):
    from gbc.jobs import install_direct_processing
    from gbc.queue.publisher import set_direct_processor

    user = make_user()
    set_direct_processor(mock.Mock(side_effect=RuntimeError("db hiccup")))  # the seam the functions wire
    try:
        enqueue_job(AuditLogPayload(action="kept", resource="user", userId=user.id))
    finally:
        install_direct_processing()
    assert _count(OutboxJob) == 1
    monkeypatch.undo()  # SQS is back
    override_settings(OUTBOX_SWEEP_AGE_SECONDS=0)
    assert sweep_outbox() == 1
    run_worker(receive(services["queues"]["JobsQueue"]))
    assert _count(AuditLog) == 1 and _count(OutboxJob) == 0


def test_a_sweep_while_sqs_is_down_processes_its_rows_directly_without_waiting_on_itself(
    db, services, sqs_down, override_settings
):
    """The sweep holds its rows (FOR UPDATE SKIP LOCKED) while it processes them directly; the job's
    own transaction skips the held row instead of waiting for it (that wait would never end), and
    the sweep deletes the rows of the jobs processed."""
    from gbc.queue import outbox

    user = make_user()
    with mock.patch.object(outbox, "_flush"):  # committed, never sent (a crash after commit)
        enqueue_job(AuditLogPayload(action="swept.directly", resource="user", userId=user.id))
    override_settings(OUTBOX_SWEEP_AGE_SECONDS=0)
    swept: list[int] = []
    sweep = threading.Thread(target=lambda: swept.append(sweep_outbox()), daemon=True)
    sweep.start()
    sweep.join(timeout=20)
    assert not sweep.is_alive(), "the sweep waited on its own row lock"
    assert swept == [0], "nothing sent: processed directly"
    assert _count(AuditLog) == 1 and _count(OutboxJob) == 0


def test_jobs_of_one_transaction_are_sent_in_batches_of_ten(db, services, monkeypatch):
    calls: list[int] = []
    client = sqs_client()
    real = client.send_message_batch
    monkeypatch.setattr(client, "send_message_batch", lambda **kw: calls.append(len(kw["Entries"])) or real(**kw))
    user = make_user()
    with unit_of_work() as uow:
        for i in range(23):
            enqueue_job(AuditLogPayload(action=f"a{i}", resource="user", userId=user.id), uow)
    assert calls == [10, 10, 3]
    assert _count(OutboxJob) == 23, "sent, each kept until processed"
    with unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).where(OutboxJob.sent_at.is_(None))) == 0


def test_a_rolled_back_transaction_sends_nothing(db, services):
    with pytest.raises(RuntimeError), unit_of_work() as uow:
        enqueue_job(AuditLogPayload(action="never", resource="user"), uow)
        raise RuntimeError("rollback")
    assert _count(OutboxJob) == 0
    assert receive(services["queues"]["JobsQueue"]) == []


def test_sent_rows_are_marked_without_waiting_for_a_wal_flush(db, services, monkeypatch):
    """Marking rows sent is one round trip: BEGIN, synchronous_commit off, UPDATE, COMMIT."""
    from gbc.data.database import get_engine

    statements: list[str] = []
    raw = get_engine().raw_connection()
    driver_class = type(raw.driver_connection)
    raw.close()
    original = driver_class.execute_simple

    def execute_simple(self, sql):
        statements.append(sql)
        return original(self, sql)

    monkeypatch.setattr(driver_class, "execute_simple", execute_simple)
    enqueue_job(AuditLogPayload(action="sent", resource="user"))
    marks = [sql for sql in statements if "UPDATE outbox SET sent_at" in sql]
    assert len(marks) == 1, "one round trip"
    assert marks[0].startswith(
        "BEGIN; SET LOCAL synchronous_commit TO OFF; UPDATE outbox SET sent_at = now() WHERE id IN ("
    )
    messages = receive(services["queues"]["JobsQueue"])
    assert len(messages) == 1 and _count(OutboxJob) == 1
    run_worker(messages)
    assert _count(OutboxJob) == 0


def test_a_lost_mark_means_a_second_send_but_one_effect(db, services, monkeypatch, override_settings):
    """The send succeeded but marking the row sent failed (or was lost in a crash): the sweep sends
    the job again, and the worker applies it once."""
    from gbc.queue import outbox

    user = make_user(balance=Decimal(10))
    broken = mock.Mock(**{"raw_connection.side_effect": RuntimeError("connection lost")})
    with monkeypatch.context() as patched:
        patched.setattr(outbox, "get_engine", lambda: broken)
        enqueue_job(
            TransactionCreatePayload(userId=user.id, type="ADMIN_ADJUSTMENT", amount=Decimal("-1"), referenceId="r1"),
        )
    assert _count(OutboxJob) == 1, "sent, but not marked"
    first = receive(services["queues"]["JobsQueue"])
    assert len(first) == 1
    override_settings(OUTBOX_SWEEP_AGE_SECONDS=0)
    assert sweep_outbox() == 1
    again = receive(services["queues"]["JobsQueue"])
    assert len(again) == 1 and json.loads(again[0]["Body"])["id"] == json.loads(first[0]["Body"])["id"]
    run_worker(first)
    run_worker(again)
    assert _balance(user.id) == Decimal(9) and _count(Transaction) == 1
    assert _count(OutboxJob) == 0


def test_a_job_sqs_accepted_and_lost_is_sent_again_until_processed(db, services, override_settings):
    """SQS took the message and it never reached a worker (purged; the local emulator restarted):
    the row is still there, so the sweep sends it again once OUTBOX_RESEND_AFTER_SECONDS passed, at
    most OUTBOX_MAX_SENDS times in all; processing it removes the row."""
    user = make_user()
    enqueue_job(AuditLogPayload(action="lost.once", resource="user", userId=user.id))
    queue = services["queues"]["JobsQueue"]

    def lose_what_sqs_holds() -> None:
        for message in receive(queue):
            sqs_client().delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    lose_what_sqs_holds()  # accepted, then lost
    override_settings(OUTBOX_SWEEP_AGE_SECONDS=0, OUTBOX_RESEND_AFTER_SECONDS=3600)
    assert sweep_outbox() == 0, "sent a moment ago: not yet"
    override_settings(OUTBOX_RESEND_AFTER_SECONDS=0, OUTBOX_MAX_SENDS=3)
    for _ in range(3):
        assert sweep_outbox() == 1
        lose_what_sqs_holds()
    assert sweep_outbox() == 0, "three sends: it stays for an operator"
    assert _count(OutboxJob) == 1
    override_settings(OUTBOX_MAX_SENDS=4)
    assert sweep_outbox() == 1
    run_worker(receive(queue))
    assert _count(AuditLog) == 1 and _count(OutboxJob) == 0
    assert sweep_outbox() == 0


# ---------------------------------------------------------------- nightly, retention, stats, redrive


def _insert_users(count: int) -> set[uuid.UUID]:
    """`count` users, every tenth inactive; returns the active ids."""
    from sqlalchemy.dialects.postgresql import insert

    with unit_of_work() as uow:
        uow.session.execute(
            insert(User), [{"wallet_address": "0x" + f"{i:040x}", "is_active": i % 10 != 0} for i in range(count)]
        )
        return set(uow.session.scalars(select(User.id).where(User.is_active.is_(True))).all())


def test_nightly_jobs_land_in_the_queue(db, services):
    active = _insert_users(250)
    assert fan_out_recompute() == {"activeUsers": 225, "enqueued": 225}
    url = services["queues"]["JobsQueue"]
    bodies = []
    while batch := receive(url):
        bodies += [json.loads(m["Body"]) for m in batch]
        sqs_client().delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    assert {b["type"] for b in bodies} == {"stats:recompute"}
    assert {b["payload"]["trigger"] for b in bodies} == {"nightly"}
    assert sorted(uuid.UUID(b["payload"]["userId"]) for b in bodies) == sorted(active)


def test_nightly_fans_out_to_thousands_of_users_in_batches(db, services, monkeypatch):
    # moto scans its whole queue on every send (quadratic), so at this size the SendMessageBatch
    # calls are recorded and answered here; the test above covers moto end to end.
    active = _insert_users(12_000)
    calls: list[list[dict]] = []
    lock = threading.Lock()

    def send_message_batch(QueueUrl, Entries):
        with lock:
            calls.append(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    monkeypatch.setattr(sqs_client(), "send_message_batch", send_message_batch)
    assert fan_out_recompute() == {"activeUsers": 10_800, "enqueued": 10_800}
    assert all(1 <= len(entries) <= 10 for entries in calls) and len(calls) == 1080
    users = [uuid.UUID(json.loads(e["MessageBody"])["payload"]["userId"]) for entries in calls for e in entries]
    assert len(users) == len(set(users)) and set(users) == active


def test_retention_keeps_the_last_100_completed(db, services):
    user = make_user()
    for i in range(105):
        job = new_job(AuditLogPayload(action=f"a{i}", resource="user", userId=user.id))
        retention.record_completed(job, 1.0, duplicate=False)
    assert len(retention.recent(retention.COMPLETED_KEY, 500)) == 100
    assert retention.recent(retention.COMPLETED_KEY, 1)[0]["type"] == "audit:log"
    assert retention.totals()["completed"] == 105


def test_queue_stats_shape(db, services):
    enqueue_job(AuditLogPayload(action="x", resource="user"))
    stats = get_queue_stats()
    assert set(stats) == {"available", "waiting", "active", "delayed", "completed", "failed", "dlq"}
    assert stats["available"] is True and stats["waiting"] == 1 and stats["dlq"] == 0


def test_queue_stats_when_sqs_is_down(db, services, monkeypatch, sqs_down):
    from gbc.queue import status

    monkeypatch.setattr(status, "sqs_client", lambda: sqs_down)
    assert get_queue_stats()["available"] is False


def test_redrive_lists_then_moves_dlq_messages_back(db, services):
    dlq, source = services["queues"]["JobsDLQ"], services["queues"]["JobsQueue"]
    for i in range(12):
        sqs_client().send_message(
            QueueUrl=dlq, MessageBody=json.dumps({"id": str(uuid.uuid4()), "type": "audit:log", "n": i})
        )
    listed = redrive.list_messages(dlq)
    assert len(listed) == 12 and {m["type"] for m in listed} == {"audit:log"}
    assert redrive.redrive(dlq, source) == {"method": "receive-send-delete", "moved": 12}
    assert receive(dlq) == []
    moved = []
    while batch := receive(source):
        moved += batch
        for m in batch:
            sqs_client().delete_message(QueueUrl=source, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(json.loads(m["Body"])["n"] for m in moved) == list(range(12))


def test_the_same_chain_log_as_two_concurrent_jobs_credits_once_without_failing(db, services):
    user = make_user()
    payload = _chain_payload(user.wallet_address, "4")
    jobs = [new_job(message_of("blockchain:deposit", payload)) for _ in range(2)]
    from gbc.jobs.runner import process_job

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(job):
        barrier.wait()
        try:
            process_job(job)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _balance(user.id) == Decimal(4)
    assert _count(Transaction) == 1


def test_queue_stats_sum_every_queue_asked_at_once(db, services):
    """The four queues are asked concurrently; each count lands in its own figure."""
    queues = services["queues"]
    for name, copies in (("JobsQueue", 2), ("PriorityQueue", 1), ("JobsDLQ", 3), ("PriorityDLQ", 1)):
        for i in range(copies):
            sqs_client().send_message(QueueUrl=queues[name], MessageBody=json.dumps({"n": i}))
    stats = get_queue_stats()
    assert (stats["available"], stats["waiting"], stats["dlq"]) == (True, 3, 4)
