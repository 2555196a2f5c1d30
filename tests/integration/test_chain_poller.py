"""The poller against a real hardhat node (JSON-RPC over HTTP), with the real database, Redis and
moto SQS: deposits, faucet claims and withdrawals credited once; replays; a crash mid-range; a
provider that refuses large ranges; reorgs; expired vouchers refunded only once the chain rejects
them."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import func, select

from devstack.chain import DEV_KEYS, send
from gbc.chain import poller as poller_module
from gbc.chain.checkpoint import read_checkpoint
from gbc.chain.events import DEPOSIT, FAUCET_CLAIM, WITHDRAW
from gbc.chain.poller import ChainPoller
from gbc.chain.rpc import JsonRpcClient, RpcError
from gbc.data.models import (
    ChainEvent,
    ChainEventStatus,
    Transaction,
    TransactionType,
    User,
    Withdrawal,
    WithdrawalStatus,
)
from gbc.data.transaction import unit_of_work
from gbc.settings import get_settings
from gbc.wallet.service import ledger_total, request_withdrawal
from gbc.wallet.views import WithdrawalVoucher
from tests.support.chain import increase_time, mine, revert, set_next_timestamp, snapshot
from tests.support.factories import make_funded_user
from tests.support.sqs import receive, run_worker

GBC = 10**18
ALICE, BOB = (Account.from_key(key) for key in DEV_KEYS[2:4])


def _drain(queues: dict[str, str]) -> int:
    """Run every queued job through the real worker, as the event source mapping would."""
    done = 0
    for name in ("JobsQueue", "PriorityQueue"):
        while messages := receive(queues[name]):
            assert run_worker(messages) == {"batchItemFailures": []}
            from gbc.queue.sqs import sqs_client

            for message in messages:
                sqs_client().delete_message(QueueUrl=queues[name], ReceiptHandle=message["ReceiptHandle"])
            done += len(messages)
    return done


def _confirm(chain: Any) -> None:
    mine(chain.url, get_settings().chain_confirmations)


def _poller() -> ChainPoller:
    return ChainPoller(JsonRpcClient(get_settings().chain_rpc_url))


def _caught_up_fork_point(chain: Any, poller: ChainPoller) -> str:
    """The poller's checkpoint on blocks both forks will share; the snapshot to fork from."""
    _confirm(chain)
    poller.poll()
    return snapshot(chain.url)


def _reorg(chain: Any, fork_point: str) -> None:
    """Replace everything since the fork point by a longer chain without it."""
    revert(chain.url, fork_point)
    mine(chain.url, 10)


def _user(address: str) -> User:
    with unit_of_work() as uow:
        return uow.session.scalars(select(User).where(User.wallet_address == address.lower())).one()


def _deposit(chain: Any, account: Any, amount: int) -> Any:
    send(chain.w3, account.key, chain.token.functions.approve(chain.vault.address, amount))
    return send(chain.w3, account.key, chain.vault.functions.deposit(amount))


def _ledger(user_id: Any) -> list[tuple[str, Decimal]]:
    with unit_of_work() as uow:
        rows = uow.session.execute(
            select(Transaction.type, Transaction.amount)
            .where(Transaction.user_id == user_id)
            .order_by(Transaction.created_at, Transaction.id)
        ).all()
    return [(t.value, a) for t, a in rows]


def _events() -> list[tuple[str, ChainEventStatus]]:
    with unit_of_work() as uow:
        rows = uow.session.execute(
            select(ChainEvent.event, ChainEvent.status).order_by(ChainEvent.block_number, ChainEvent.log_index)
        ).all()
    return [(e, s) for e, s in rows]


def test_event_signatures_match_the_compiled_contracts():
    from contracts.compile import load_artifact

    abi_events = {
        item["name"]: f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
        for name in ("GBCVault", "GBCFaucet")
        for item in load_artifact(name)["abi"]
        if item["type"] == "event"
    }
    for spec in (DEPOSIT, WITHDRAW, FAUCET_CLAIM):
        assert abi_events[spec.name] == spec.signature


def test_deposit_and_faucet_claim_are_credited_once_even_when_replayed(db, chain, sqs_queues):
    _deposit(chain, ALICE, 50 * GBC)
    send(chain.w3, ALICE.key, chain.faucet.functions.claim())
    poller = _poller()
    assert poller.poll().stored == 0  # not confirmed yet
    _confirm(chain)

    result = poller.poll()
    assert (result.stored, result.logs) == (2, 2)
    sent = [json.loads(m["Body"]) for m in receive(sqs_queues["JobsQueue"])]
    assert sorted(job["type"] for job in sent) == ["blockchain:deposit", "blockchain:faucet"]
    # Put them back (receive hid them) plus a replay of both, as a redelivery or a second poller would.
    from gbc.queue.sqs import sqs_client

    for job in sent * 2:
        sqs_client().send_message(QueueUrl=sqs_queues["JobsQueue"], MessageBody=json.dumps(job))
    assert _drain(sqs_queues) >= 4

    alice = _user(ALICE.address)
    assert alice.balance == Decimal(150)
    assert alice.total_deposited == Decimal(50)
    assert _ledger(alice.id) == [("DEPOSIT", Decimal(50)), ("FAUCET", Decimal(100))]
    assert ledger_total(alice.id) == alice.balance
    assert {s for _, s in _events()} == {ChainEventStatus.PROCESSED}

    # A second poll finds nothing new; a poll from scratch (checkpoint lost) stores nothing twice.
    assert poller.poll().stored == 0
    with unit_of_work() as uow:
        uow.session.execute(ChainEvent.__table__.update().values(status=ChainEventStatus.PROCESSED))
        from gbc.data.models import SystemConfig

        uow.session.execute(SystemConfig.__table__.delete())
    assert poller.poll().stored == 0
    assert _drain(sqs_queues) == 0
    assert _user(ALICE.address).balance == Decimal(150)


def test_a_crash_in_the_middle_of_a_range_resumes_with_nothing_lost_or_doubled(
    db, chain, sqs_queues, monkeypatch, override_settings
):
    first = chain.w3.eth.block_number + 1
    for _ in range(4):  # approve + deposit: blocks first .. first+7, a deposit in every second one
        _deposit(chain, BOB, 5 * GBC)
    _confirm(chain)
    # Ranges of 3 from the first approve: [a d a] [d a d] [a d ...]; the third one crashes.
    override_settings(CHAIN_MAX_BLOCK_RANGE=3, CHAIN_START_BLOCK=first)
    poller = _poller()

    calls = {"n": 0}
    real = poller_module.refund_expired_withdrawals

    def crash_on_third_range(uow: Any, timestamp: int) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the Lambda died here")
        return real(uow, timestamp)

    monkeypatch.setattr(poller_module, "refund_expired_withdrawals", crash_on_third_range)
    with pytest.raises(RuntimeError, match="died"):
        poller.poll()
    with unit_of_work() as uow:
        checkpoint = read_checkpoint(uow, get_settings().chain_id)
        stored_before = uow.session.scalar(select(func.count()).select_from(ChainEvent))
    # Two ranges committed (three deposits), the third rolled back whole.
    assert checkpoint is not None and checkpoint.block == first + 5
    assert stored_before == 3

    monkeypatch.setattr(poller_module, "refund_expired_withdrawals", real)
    result = poller.poll()
    assert result.checkpoint == result.safe_head
    _drain(sqs_queues)
    bob = _user(BOB.address)
    assert [entry for entry in _ledger(bob.id)] == [("DEPOSIT", Decimal(5))] * 4
    assert bob.balance == Decimal(20)
    assert len(_events()) == 4


class RefusingRpc(JsonRpcClient):
    """A provider that refuses eth_getLogs over more than `limit` blocks, as Infura/Alchemy do."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(url)
        self.limit = limit
        self.refused = 0

    def logs(self, from_block: int, to_block: int, addresses: list[str], topics: list[Any]) -> Any:
        if to_block - from_block + 1 > self.limit:
            self.refused += 1
            raise RpcError("query returned more than 10000 results", code=-32005)
        return super().logs(from_block, to_block, addresses, topics)


def test_block_ranges_adapt_to_a_provider_that_refuses_large_ones(db, chain, sqs_queues, override_settings):
    _deposit(chain, ALICE, 7 * GBC)
    mine(chain.url, 40)
    override_settings(CHAIN_MAX_BLOCK_RANGE=64)
    rpc = RefusingRpc(get_settings().chain_rpc_url, limit=5)
    result = ChainPoller(rpc).poll()
    assert rpc.refused >= 3  # 64 -> 32 -> 16 -> 8 -> 4
    assert max(result.range_sizes) <= 5
    assert result.checkpoint == result.safe_head
    assert result.stored == 1


def test_a_reorg_reverses_the_orphaned_credit_and_a_remined_log_is_credited_once(db, chain, sqs_queues):
    poller = _poller()
    fork_point = _caught_up_fork_point(chain, poller)

    # Signed once, so the very same transactions can be mined again on the other fork.
    signed = [
        ALICE.sign_transaction(
            call.build_transaction({"from": ALICE.address, "nonce": nonce, "chainId": 31337, "gas": 200_000})
        )
        for nonce, call in enumerate(
            (chain.token.functions.approve(chain.vault.address, 30 * GBC), chain.vault.functions.deposit(30 * GBC)),
            start=chain.w3.eth.get_transaction_count(ALICE.address),
        )
    ]

    def mine_and_credit_the_deposit() -> None:
        for tx in signed:
            chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(tx.raw_transaction))
        _confirm(chain)
        assert poller.poll().stored == 1
        _drain(sqs_queues)

    mine_and_credit_the_deposit()
    alice = _user(ALICE.address)
    assert alice.balance == Decimal(30)

    _reorg(chain, fork_point)  # the blocks with the deposit are replaced by a longer chain without it
    result = poller.poll()
    assert result.reorgs == 1
    _drain(sqs_queues)
    assert _user(ALICE.address).balance == Decimal(0)
    assert _ledger(alice.id) == [("DEPOSIT", Decimal(30)), ("DEPOSIT_REVERSAL", Decimal(-30))]
    assert _events() == [("Deposit", ChainEventStatus.ORPHANED)]
    assert _user(ALICE.address).total_deposited == Decimal(0)

    # The same transactions are mined again on the new fork: one more credit, net exactly one.
    mine_and_credit_the_deposit()
    alice = _user(ALICE.address)
    assert alice.balance == Decimal(30)
    assert [t for t, _ in _ledger(alice.id)] == ["DEPOSIT", "DEPOSIT_REVERSAL", "DEPOSIT"]
    assert ledger_total(alice.id) == alice.balance
    assert _events() == [("Deposit", ChainEventStatus.PROCESSED)]


def test_a_job_for_an_event_orphaned_before_it_ran_credits_nothing(db, chain, sqs_queues):
    poller = _poller()
    fork_point = _caught_up_fork_point(chain, poller)
    _deposit(chain, BOB, 12 * GBC)
    _confirm(chain)
    assert poller.poll().stored == 1
    _reorg(chain, fork_point)
    assert poller.poll().reorgs == 1
    _drain(sqs_queues)  # the deposit job runs only now
    assert _events() == [("Deposit", ChainEventStatus.ORPHANED)]
    with unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Transaction)) == 0


def _voucher_call(chain: Any, voucher: WithdrawalVoucher) -> Any:
    message = voucher.message
    return chain.vault.functions.withdraw(
        int(message.amount), int(message.nonce), message.deadline, bytes.fromhex(voucher.signature[2:])
    )


def _player_user(account: Any, amount: str) -> User:
    user = make_funded_user(amount)
    with unit_of_work() as uow:
        uow.session.execute(
            User.__table__.update().where(User.id == user.id).values(wallet_address=account.address.lower())
        )
    return user


def test_withdrawal_paid_on_chain_is_completed_and_never_refunded(db, chain, sqs_queues):
    user = _player_user(ALICE, "80")
    held = request_withdrawal(user.id, Decimal(25), ALICE.address)
    before = chain.token.functions.balanceOf(ALICE.address).call()
    send(chain.w3, ALICE.key, _voucher_call(chain, held.voucher))
    assert chain.token.functions.balanceOf(ALICE.address).call() == before + 25 * GBC
    _confirm(chain)
    assert _poller().poll().stored == 1
    _drain(sqs_queues)
    with unit_of_work() as uow:
        withdrawal = uow.session.scalars(select(Withdrawal)).one()
    assert withdrawal.status is WithdrawalStatus.COMPLETED
    # Long past the deadline: still COMPLETED, no refund.
    increase_time(chain.url, 2 * get_settings().withdrawal_voucher_ttl_seconds)
    _confirm(chain)
    assert _poller().poll().refunds == 0
    assert _ledger(user.id) == [("ADMIN_ADJUSTMENT", Decimal(80)), ("WITHDRAWAL", Decimal(-25))]


def test_an_expired_voucher_is_refunded_only_once_the_chain_would_reject_it(db, chain, sqs_queues):
    user = _player_user(BOB, "40")
    held = request_withdrawal(user.id, Decimal(15), BOB.address)
    deadline = held.voucher.message.deadline
    _confirm(chain)
    assert _poller().poll().refunds == 0  # the voucher is still good
    assert _user(BOB.address).balance == Decimal(25)

    # The chain's time passes the deadline, but not yet in a confirmed block: still no refund.
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    increase_time(chain.url, deadline - now + 1)
    assert _poller().poll().refunds == 0
    # Confirmed past the deadline: the chain rejects the voucher, but within the grace (a deep reorg
    # could bring back earlier blocks) it is still held.
    _confirm(chain)
    assert _poller().poll().refunds == 0
    increase_time(chain.url, get_settings().withdrawal_refund_grace_seconds)
    _confirm(chain)
    assert _poller().poll().refunds == 1
    assert _poller().poll().refunds == 0  # once
    _drain(sqs_queues)
    bob = _user(BOB.address)
    assert bob.balance == Decimal(40)
    assert bob.total_withdrawn == Decimal(0)
    assert _ledger(user.id)[-1] == ("WITHDRAWAL_REFUND", Decimal(15))
    with unit_of_work() as uow:
        assert uow.session.scalars(select(Withdrawal)).one().status is WithdrawalStatus.REFUNDED
    # And the chain indeed rejects the voucher now.
    from web3.exceptions import ContractLogicError

    with pytest.raises(ContractLogicError, match="expired"):
        _voucher_call(chain, held.voucher).call({"from": BOB.address})


def test_a_voucher_paid_in_a_block_exactly_at_its_deadline_is_completed_not_refunded(db, chain, sqs_queues):
    user = _player_user(ALICE, "50")
    held = request_withdrawal(user.id, Decimal(10), ALICE.address)
    deadline = held.voucher.message.deadline
    set_next_timestamp(chain.url, deadline)  # the vault accepts block.timestamp <= deadline
    send(chain.w3, ALICE.key, _voucher_call(chain, held.voucher), gas=200_000)
    increase_time(chain.url, 2 * get_settings().withdrawal_refund_grace_seconds)
    _confirm(chain)
    result = _poller().poll()
    assert (result.stored, result.refunds) == (1, 0)
    _drain(sqs_queues)
    with unit_of_work() as uow:
        assert uow.session.scalars(select(Withdrawal)).one().status is WithdrawalStatus.COMPLETED
    assert _ledger(user.id) == [("ADMIN_ADJUSTMENT", Decimal(50)), ("WITHDRAWAL", Decimal(-10))]


def test_a_withdrawal_whose_payout_block_is_orphaned_is_pending_again_and_can_be_paid_on_the_new_fork(
    db, chain, sqs_queues
):
    user = _player_user(ALICE, "60")
    held = request_withdrawal(user.id, Decimal(20), ALICE.address)
    poller = _poller()
    fork_point = _caught_up_fork_point(chain, poller)
    send(chain.w3, ALICE.key, _voucher_call(chain, held.voucher))
    _confirm(chain)
    assert poller.poll().stored == 1
    _drain(sqs_queues)

    def status() -> WithdrawalStatus:
        with unit_of_work() as uow:
            return uow.session.scalars(select(Withdrawal)).one().status

    assert status() is WithdrawalStatus.COMPLETED
    _reorg(chain, fork_point)
    assert poller.poll().reorgs == 1
    assert status() is WithdrawalStatus.PENDING  # the payout is gone; the hold stays, no refund yet
    assert _user(ALICE.address).balance == Decimal(40)

    send(chain.w3, ALICE.key, _voucher_call(chain, held.voucher))  # the voucher is good on the new fork
    _confirm(chain)
    assert poller.poll().stored == 1
    _drain(sqs_queues)
    assert status() is WithdrawalStatus.COMPLETED
    assert _ledger(user.id) == [("ADMIN_ADJUSTMENT", Decimal(60)), ("WITHDRAWAL", Decimal(-20))]


def test_a_reorg_after_the_credit_was_spent_takes_what_is_left_and_records_the_shortfall(db, chain, sqs_queues):
    from gbc.ledger import apply_balance_change

    poller = _poller()
    fork_point = _caught_up_fork_point(chain, poller)
    _deposit(chain, BOB, 30 * GBC)
    _confirm(chain)
    poller.poll()
    _drain(sqs_queues)
    bob = _user(BOB.address)
    with unit_of_work() as uow:  # the player bets 25 of it before the reorg
        apply_balance_change(uow, bob.id, TransactionType.GAME_BET, Decimal(-25), "game:spent")

    _reorg(chain, fork_point)
    assert poller.poll().reorgs == 1
    bob = _user(BOB.address)
    assert bob.balance == Decimal(0)  # never negative
    with unit_of_work() as uow:
        reversal = uow.session.scalars(
            select(Transaction).where(Transaction.type == TransactionType.DEPOSIT_REVERSAL)
        ).one()
    assert reversal.amount == Decimal(-5)
    assert reversal.metadata_["shortfall"] == "25.000000000000000000"
    assert ledger_total(bob.id) == bob.balance


def test_a_reorg_while_a_range_is_being_read_stores_nothing_of_it(db, chain, sqs_queues):
    fork_point = _caught_up_fork_point(chain, _poller())
    _deposit(chain, ALICE, 9 * GBC)
    _confirm(chain)

    class ReorgWhileReading(JsonRpcClient):
        """The chain reorganises between eth_getLogs and the poller's second look at the headers."""

        def logs(self, *args: Any) -> Any:
            found = super().logs(*args)
            if found:
                _reorg(chain, fork_point)
            return found

    result = ChainPoller(ReorgWhileReading(get_settings().chain_rpc_url)).poll()
    assert result.stopped.startswith("inconsistent answers")
    assert (result.stored, _events()) == (0, [])
    # The next run reads the fork that won: no deposit on it.
    assert _poller().poll().stored == 0
    assert _drain(sqs_queues) == 0
    with unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Transaction)) == 0


def test_logs_read_on_one_fork_and_headers_on_another_are_not_trusted(db, chain, sqs_queues):
    """Fork X has no deposit, fork Y (which wins while the range is read) has one. Had the poller
    taken X's empty logs with Y's block hashes, it would have skipped Y's deposit for good."""
    fork_point = _caught_up_fork_point(chain, _poller())
    mine(chain.url, 6)  # fork X: empty blocks

    class ForkSwitchAfterLogs(JsonRpcClient):
        switched = False

        def logs(self, *args: Any) -> Any:
            found = super().logs(*args)
            if not self.switched:
                self.switched = True
                revert(chain.url, fork_point)  # fork Y: a deposit, and longer
                _deposit(chain, BOB, 11 * GBC)
                mine(chain.url, 10)
            return found

    result = ChainPoller(ForkSwitchAfterLogs(get_settings().chain_rpc_url)).poll()
    assert result.stopped.startswith("inconsistent answers") and result.stored == 0
    assert _poller().poll().stored == 1  # read again, on fork Y
    _drain(sqs_queues)
    assert _user(BOB.address).balance == Decimal(11)


class ForkB(JsonRpcClient):
    """A node that follows another fork for a while (a load-balanced provider, a flip-flopping
    chain): from block `fork` on, other hashes and none of the logs."""

    def __init__(self, url: str, fork: int) -> None:
        super().__init__(url)
        self.fork = fork

    def blocks(self, numbers: list[int]) -> Any:
        from dataclasses import replace

        real = super().blocks(numbers)
        return {n: replace(h, hash="0x" + "b" * 56 + f"{n:08x}") if n >= self.fork else h for n, h in real.items()}

    def logs(self, from_block: int, to_block: int, addresses: list[str], topics: list[Any]) -> Any:
        return [log for log in super().logs(from_block, to_block, addresses, topics) if log.block_number < self.fork]


def test_a_fork_that_flips_away_and_back_credits_the_deposit_again_after_its_reversal(db, chain, sqs_queues):
    poller = _poller()
    _caught_up_fork_point(chain, poller)
    receipt = _deposit(chain, BOB, 30 * GBC)
    _confirm(chain)
    assert poller.poll().stored == 1
    _drain(sqs_queues)

    assert ChainPoller(ForkB(get_settings().chain_rpc_url, receipt["blockNumber"])).poll().reorgs == 1
    _drain(sqs_queues)
    assert _user(BOB.address).balance == Decimal(0)

    assert poller.poll().stored == 1  # fork A again: the same log in the same block, a new generation
    _drain(sqs_queues)
    bob = _user(BOB.address)
    assert bob.balance == Decimal(30)
    assert [t for t, _ in _ledger(bob.id)] == ["DEPOSIT", "DEPOSIT_REVERSAL", "DEPOSIT"]
    with unit_of_work() as uow:
        event = uow.session.scalars(select(ChainEvent)).one()
        references = uow.session.scalars(select(Transaction.reference_id).order_by(Transaction.created_at)).all()
    assert (event.generation, event.status) == (1, ChainEventStatus.PROCESSED)
    assert references[2] == references[0] + "#1"


def test_the_poller_refuses_a_node_of_another_chain(db, chain, sqs_queues, override_settings):
    from gbc.chain.poller import WrongChain

    override_settings(CHAIN_ID=1)
    with pytest.raises(WrongChain, match="serves chain 31337"):
        _poller().poll()
