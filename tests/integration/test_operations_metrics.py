"""The metrics the alarms and the dashboard read, as the functions emit them (their EMF lines on
stdout, flushed by Powertools' log_metrics): the poller's lag and runs, the outbox's backlog, and the
business figures, each counted once, against the real PostgreSQL, Redis, moto SQS and hardhat."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import insert, text

from devstack.chain import DEV_KEYS, send
from devstack.runtime import LocalContext
from gbc.chain.checkpoint import Checkpoint, write_checkpoint
from gbc.chain.poller import ChainPoller
from gbc.chain.rpc import JsonRpcClient, RpcError
from gbc.data.models import GameResult, OutboxJob, User
from gbc.data.transaction import unit_of_work
from gbc.messages import AuditLogPayload, StatsRecomputePayload
from gbc.observability import metrics
from gbc.queue.jobs import new_job
from gbc.queue.outbox import enqueue_job
from gbc.queue.sqs import sqs_client
from gbc.settings import get_settings
from gbc.wallet.service import request_withdrawal
from tests.support.chain import mine
from tests.support.factories import make_funded_user, make_user
from tests.support.games import add_ended_games
from tests.support.sqs import receive, run_worker

GBC = 10**18
ALICE = Account.from_key(DEV_KEYS[2])  # funded by the deployment, as in test_chain_poller


def emitted(out: str) -> dict[str, list[float]]:
    """Every metric value in the EMF lines of `out`, by name. Each line must be in the GBC namespace
    with the service dimension (the contract the alarms' dimensions rely on)."""
    values: dict[str, list[float]] = defaultdict(list)
    for line in out.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "GBC"
            assert directive["Dimensions"] == [["service"]] and blob["service"] == "gbc-blackjack"
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values[metric["Name"]] += value if isinstance(value, list) else [value]
    return values


def units(out: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                found.update({m["Name"]: m["Unit"] for m in directive["Metrics"]})
    return found


@pytest.fixture
def capture(capsys: pytest.CaptureFixture[str]) -> Any:
    """capture() -> what was emitted since the last call (metrics left over by earlier tests are cleared)."""
    metrics.clear_metrics()
    capsys.readouterr()

    def read() -> tuple[dict[str, list[float]], str]:
        out = capsys.readouterr().out
        return emitted(out), out

    yield read
    metrics.clear_metrics()


def _poller_handler() -> Any:
    import chain_poller_app

    chain_poller_app._poller.cache_clear()  # the RPC client of this test's settings
    return chain_poller_app


def _run_poller() -> None:
    app = _poller_handler()
    app.lambda_handler({}, LocalContext("ChainPollerFunction", 1024, 55))


def _drain(queues: dict[str, str]) -> None:
    """Every queued job through the real worker (its metrics flushed per batch), then deleted."""
    for name in ("JobsQueue", "PriorityQueue"):
        while messages := receive(queues[name]):
            assert run_worker(messages) == {"batchItemFailures": []}
            for message in messages:
                sqs_client().delete_message(QueueUrl=queues[name], ReceiptHandle=message["ReceiptHandle"])


def _backdate_checkpoint(seconds: int) -> None:
    with unit_of_work() as uow:
        uow.session.execute(
            text(
                "UPDATE system_config SET updated_at = now() - make_interval(secs => :s)"
                " WHERE key LIKE 'chain_checkpoint:%'"
            ),
            {"s": seconds},
        )


# ---------------------------------------------------------------- the poller


def test_each_poller_run_reports_blocks_behind_the_head_checkpoint_age_and_one_run(db, chain, sqs_queues, capture):
    confirmations = get_settings().chain_confirmations
    mine(chain.url, confirmations + 2)
    _run_poller()
    seen, out = capture()
    assert seen["ChainPollerRuns"] == [1.0]
    # Caught up: the checkpoint is the head minus the confirmations the poller waits for.
    assert seen["ChainBlocksBehind"] == [float(confirmations)]
    assert len(seen["ChainCheckpointAge"]) == 1 and 0 <= seen["ChainCheckpointAge"][0] < 5
    expected_units = {"ChainPollerRuns": "Count", "ChainBlocksBehind": "Count", "ChainCheckpointAge": "Seconds"}
    assert units(out).items() >= expected_units.items()

    # Nothing new to read: the checkpoint stays where it was written two minutes ago.
    _backdate_checkpoint(120)
    _run_poller()
    seen, _ = capture()
    assert seen["ChainPollerRuns"] == [1.0]
    assert seen["ChainBlocksBehind"] == [float(confirmations)]
    assert 119 <= seen["ChainCheckpointAge"][0] < 125


def test_a_poller_that_falls_behind_reports_how_far(db, chain, sqs_queues, capture):
    poller = ChainPoller(JsonRpcClient(get_settings().chain_rpc_url))
    mine(chain.url, 5)
    poller.poll()
    mine(chain.url, 12)
    poller.poll(max_ranges=0)  # read nothing: the head moved on, the checkpoint did not
    metrics.flush_metrics()
    seen, _ = capture()
    confirmations = get_settings().chain_confirmations
    assert seen["ChainBlocksBehind"] == [float(confirmations), float(confirmations + 12)]
    assert seen["ChainPollerRuns"] == [1.0, 1.0]


def test_a_failed_poller_run_reports_the_checkpoint_age_and_no_run(db, sqs_queues, override_settings, capture):
    with unit_of_work() as uow:
        write_checkpoint(uow, get_settings().chain_id, Checkpoint(41, "0xabc", 0, 100))
    _backdate_checkpoint(300)
    override_settings(CHAIN_RPC_URL="http://127.0.0.1:1", CHAIN_RPC_TIMEOUT=1)
    app = _poller_handler()
    with pytest.raises(RpcError):  # the connection is refused
        app.lambda_handler({}, LocalContext("ChainPollerFunction", 1024, 55))
    seen, _ = capture()
    assert "ChainPollerRuns" not in seen  # a missed run, as the alarm counts it
    assert "ChainBlocksBehind" not in seen  # the head is unknown
    assert 299 <= seen["ChainCheckpointAge"][0] < 305
    app._poller.cache_clear()


# ---------------------------------------------------------------- the outbox


def _outbox_row(age_seconds: float, sent: bool = False) -> None:
    job = new_job(AuditLogPayload(action="metrics-test", resource="user"))
    created = datetime.now(UTC) - timedelta(seconds=age_seconds)
    with unit_of_work() as uow:
        uow.session.execute(
            insert(OutboxJob).values(
                id=job.id,
                type=job.type,
                payload=job.payload,
                queue=job.queue,
                created_at=created,
                attempts=1 if sent else 0,
                sent_at=created if sent else None,
            )
        )


def _sweep() -> dict[str, Any]:
    import outbox_sweep_app

    result: dict[str, Any] = outbox_sweep_app.lambda_handler({}, LocalContext("OutboxSweepFunction", 1024, 60))
    return result


def test_the_sweep_reports_the_unsent_backlog_and_the_age_of_its_oldest_row(db, sqs_queues, override_settings, capture):
    # Not due for the sweep yet (as if SQS had refused them a moment ago): they stay unsent.
    override_settings(OUTBOX_SWEEP_AGE_SECONDS=3600)
    _outbox_row(300)
    _outbox_row(30)
    _outbox_row(900, sent=True)  # handed to SQS, waiting for the worker: not a backlog
    result = _sweep()
    seen, out = capture()
    assert seen["OutboxBacklog"] == [2.0]
    assert len(seen["OutboxOldestAge"]) == 1 and 299 <= seen["OutboxOldestAge"][0] < 305
    assert units(out).items() >= {"OutboxBacklog": "Count", "OutboxOldestAge": "Seconds"}.items()
    assert result["outboxBacklog"] == 2


def test_an_empty_outbox_reports_zero(db, sqs_queues, capture):
    _outbox_row(60)  # due: the sweep delivers it, so nothing is left unsent after its run
    assert _sweep()["sent"] == 1
    seen, _ = capture()
    assert seen["OutboxBacklog"] == [0.0]
    assert seen["OutboxOldestAge"] == [0.0]


# ---------------------------------------------------------------- business figures


def _deposit(chain: Any, amount: int) -> None:
    send(chain.w3, ALICE.key, chain.token.functions.approve(chain.vault.address, amount))
    send(chain.w3, ALICE.key, chain.vault.functions.deposit(amount))


def test_a_deposit_and_a_faucet_claim_are_counted_once_when_credited(db, chain, sqs_queues, capture):
    _deposit(chain, 50 * GBC)
    send(chain.w3, ALICE.key, chain.faucet.functions.claim())
    mine(chain.url, get_settings().chain_confirmations)
    _run_poller()
    sent = [m["Body"] for m in receive(sqs_queues["JobsQueue"])]
    assert len(sent) == 2
    for body in sent * 2:  # put them back (receive hid them), and a second delivery of each
        sqs_client().send_message(QueueUrl=sqs_queues["JobsQueue"], MessageBody=body)
    capture()  # the poller's own figures are the tests above
    _drain(sqs_queues)
    seen, _ = capture()
    assert seen["DepositsCredited"] == [1.0]
    assert seen["GbcDeposited"] == [50.0]
    assert seen["FaucetClaims"] == [1.0]
    assert "WithdrawalsPaid" not in seen


def test_a_withdrawal_paid_on_chain_is_counted_with_its_amount(db, chain, sqs_queues, capture):
    user = make_funded_user("80")
    with unit_of_work() as uow:
        uow.session.execute(
            User.__table__.update().where(User.id == user.id).values(wallet_address=ALICE.address.lower())
        )
    held = request_withdrawal(user.id, Decimal(25), ALICE.address)
    message = held.voucher.message
    call = chain.vault.functions.withdraw(
        int(message.amount), int(message.nonce), message.deadline, bytes.fromhex(held.voucher.signature[2:])
    )
    send(chain.w3, ALICE.key, call)
    mine(chain.url, get_settings().chain_confirmations)
    _run_poller()
    capture()
    _drain(sqs_queues)
    seen, _ = capture()
    assert seen["WithdrawalsPaid"] == [1.0]
    assert seen["GbcWithdrawn"] == [25.0]
    assert "DepositsCredited" not in seen


def _stats_job(user_id: Any, game: bool = True) -> None:
    """The stats job a round's end enqueues (with its game), or the nightly one (without)."""
    import uuid

    enqueue_job(
        StatsRecomputePayload(
            userId=user_id, trigger="game:ended" if game else "nightly", gameId=uuid.uuid4() if game else None
        )
    )


def test_rounds_wagers_and_payouts_are_counted_once_by_the_stats_job(db, sqs_queues, capture):
    user = make_user()
    # bet 10 each; paid back 20 (win), 0 (loss), 25 (blackjack)
    add_ended_games(user.id, [GameResult.WIN, GameResult.LOSE, GameResult.BLACKJACK])
    _stats_job(user.id)  # the user's first stats: everything so far is new
    _stats_job(user.id)  # a second delivery of the same news counts nothing
    _drain(sqs_queues)
    seen, out = capture()
    assert seen["RoundsPlayed"] == [3.0]
    assert seen["GbcWagered"] == [30.0]
    assert seen["GbcPaid"] == [45.0]
    assert units(out)["GbcWagered"] == "Count"

    add_ended_games(user.id, [GameResult.PUSH])
    _stats_job(user.id)
    _drain(sqs_queues)
    seen, _ = capture()
    assert (seen["RoundsPlayed"], seen["GbcWagered"], seen["GbcPaid"]) == ([1.0], [10.0], [10.0])

    # The nightly full recompute counts again for the stats, not for the figures; a game its
    # job has not reached yet is counted by it, once.
    add_ended_games(user.id, [GameResult.SURRENDER])
    _stats_job(user.id, game=False)
    _stats_job(user.id, game=False)
    _drain(sqs_queues)
    seen, _ = capture()
    assert (seen["RoundsPlayed"], seen["GbcWagered"], seen["GbcPaid"]) == ([1.0], [10.0], [5.0])


def test_a_job_that_rolls_back_counts_nothing(db, sqs_queues, capture):
    from gbc.stats.service import full_recompute

    user = make_user()
    add_ended_games(user.id, [GameResult.WIN])
    with pytest.raises(RuntimeError, match="rolled back"), unit_of_work() as uow:
        full_recompute(uow, user.id)
        raise RuntimeError("the job failed after its stats were computed: rolled back")
    metrics.flush_metrics()
    seen, _ = capture()
    assert "RoundsPlayed" not in seen
    with unit_of_work() as uow:  # the same job again, committed this time: counted now, once
        full_recompute(uow, user.id)
    metrics.flush_metrics()
    seen, _ = capture()
    assert seen["RoundsPlayed"] == [1.0]
