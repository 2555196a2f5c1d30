"""The chain poller: from the checkpoint to the head minus N confirmations, one block range per DB
transaction.

Each range commits its events, their jobs (through the outbox), the hashes of the blocks it relied
on, the new checkpoint and the refunds that the new confirmed time allows, all together: a crash
anywhere leaves either the whole range or none of it. Before reading on, the checkpoint's block hash
is compared with the chain's; a difference is a reorg, and the range above the last block both
agree on is rewound (gbc.chain.reorg). The range size adapts: halved when the provider refuses a
range, doubled again after each success, up to CHAIN_MAX_BLOCK_RANGE.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field, replace

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from gbc.chain.checkpoint import Checkpoint, checkpoint_key, read_checkpoint, write_checkpoint
from gbc.chain.events import SPECS, ChainLog, decode_log
from gbc.chain.reorg import record_blocks, rewind
from gbc.chain.rpc import BlockHeader, JsonRpcClient, RpcError
from gbc.data.models import ChainEvent, ChainEventStatus, SystemConfig
from gbc.data.transaction import UnitOfWork, unit_of_work
from gbc.events import DepositSeen
from gbc.observability import logger, metrics
from gbc.queue.outbox import enqueue_job
from gbc.settings import Settings, get_settings
from gbc.wallet.refunds import refund_expired_withdrawals

# Events per INSERT: 9 parameters each stays well under the driver's 32,767.
STORE_CHUNK = 1000
# The ledger's NUMERIC(38, 18) holds less than 10^20 GBC.
MAX_AMOUNT_WEI = 10**38


class WrongChain(Exception):
    """CHAIN_RPC_URL answers for another chain than CHAIN_ID: nothing is read."""


class ChainInconsistent(Exception):
    """The node answered from two forks within one range (a reorg under our feet): retry later."""


@dataclass
class PollResult:
    head: int | None = None
    safe_head: int | None = None
    checkpoint: int | None = None
    ranges: int = 0
    logs: int = 0
    stored: int = 0
    reorgs: int = 0
    refunds: int = 0
    stopped: str = "caught up"
    range_sizes: list[int] = field(default_factory=list)
    # Where the time went: the transactions' work (RPC reads + SQL), then commit + delivering the jobs.
    work_s: float = 0.0
    commit_and_deliver_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        timings = {"workS": round(self.work_s, 3), "commitAndDeliverS": round(self.commit_and_deliver_s, 3)}
        skip = ("range_sizes", "work_s", "commit_and_deliver_s")
        return {k: v for k, v in self.__dict__.items() if k not in skip} | {"rangeSizes": self.range_sizes} | timings


class ChainPoller:
    def __init__(self, rpc: JsonRpcClient, settings: Settings | None = None) -> None:
        self.rpc = rpc
        self.settings = settings or get_settings()
        self.chain_id = self.settings.chain_id
        self.contracts = [a.lower() for a in (self.settings.vault_address, self.settings.faucet_address)]
        self.topics = [sorted(SPECS)]
        # One poller per chain at a time (the schedule may overlap a slow run): a transaction-scoped
        # advisory lock, so a crashed poller never leaves it held.
        self._lock_key = zlib.crc32(f"chain-poller:{self.chain_id}".encode())
        self._chain_checked = False

    def _check_chain(self) -> None:
        """Once per container: a wrong URL would store events under the wrong chain id."""
        if not self._chain_checked:
            answered = self.rpc.chain_id()
            if answered != self.chain_id:
                raise WrongChain(f"CHAIN_RPC_URL serves chain {answered}, CHAIN_ID is {self.chain_id}")
            self._chain_checked = True

    def poll(self, budget_seconds: float | None = None, max_ranges: int | None = None) -> PollResult:
        """Read from the checkpoint on, then report the lag (ChainBlocksBehind, ChainCheckpointAge),
        on a failed run too when the database answers, and count the run (ChainPollerRuns) if it
        completed: a missing count is a missed run."""
        result = PollResult()
        try:
            self._poll(result, budget_seconds, max_ranges)
        finally:
            self._report_lag(result.head)
        metrics.add_metric(name="ChainPollerRuns", unit="Count", value=1)
        return result

    def _report_lag(self, head: int | None) -> None:
        """From the committed checkpoint (one query): blocks behind the head (with the confirmations
        the poller waits for, a poller caught up is CHAIN_CONFIRMATIONS behind) and the seconds since
        the checkpoint row was last written (a range stored, a rewind, a smaller range), on the
        database's clock. Never fails the run: a database that does not answer reports nothing."""
        try:
            with unit_of_work() as uow:
                row = uow.session.execute(
                    select(SystemConfig.value, func.extract("epoch", func.now() - SystemConfig.updated_at)).where(
                        SystemConfig.key == checkpoint_key(self.chain_id)
                    )
                ).first()
        except Exception as exc:
            logger.warning("[Chain] could not read the checkpoint to report the lag", extra={"error": str(exc)})
            return
        block = int(row.value["block"]) if row is not None else self._initial().block
        if head is not None:
            metrics.add_metric(name="ChainBlocksBehind", unit="Count", value=max(head - block, 0))
        if row is not None:
            metrics.add_metric(name="ChainCheckpointAge", unit="Seconds", value=max(float(row[1]), 0.0))

    def _poll(self, result: PollResult, budget_seconds: float | None, max_ranges: int | None) -> None:
        budget = self.settings.chain_poll_budget_seconds if budget_seconds is None else budget_seconds
        deadline = time.monotonic() + budget
        self._check_chain()
        result.head = self.rpc.block_number()
        result.safe_head = result.head - self.settings.chain_confirmations
        while time.monotonic() < deadline and (max_ranges is None or result.ranges < max_ranges):
            try:
                started = time.perf_counter()
                with unit_of_work() as uow:
                    if not self._try_lock(uow):
                        result.stopped = "another poller is running"
                        break
                    more = self._step(uow, result)
                    worked = time.perf_counter()
                result.work_s += worked - started
                result.commit_and_deliver_s += time.perf_counter() - worked
                if not more:
                    break
            except ChainInconsistent as exc:
                result.stopped = f"inconsistent answers, retry next run: {exc}"
                break
        else:
            result.stopped = "time budget" if time.monotonic() >= deadline else "range limit"
        metrics.add_metric(name="ChainLogsStored", unit="Count", value=result.stored)
        # An idle poll (most of them) is a debug line; one that changed something is news.
        busy = result.stored or result.reorgs or result.refunds or result.stopped != "caught up"
        (logger.info if busy else logger.debug)("[Chain] poll", extra=result.as_dict())

    def _try_lock(self, uow: UnitOfWork) -> bool:
        return bool(uow.session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key))))

    def _initial(self) -> Checkpoint:
        start = max(self.settings.chain_start_block - 1, -1)
        return Checkpoint(start, None, 0, self.settings.chain_max_block_range)

    def _step(self, uow: UnitOfWork, result: PollResult) -> bool:
        """One transaction's work: a reorg rewind, a smaller range after a refusal, or one range.
        Returns False when there is nothing more to read."""
        checkpoint = read_checkpoint(uow, self.chain_id) or self._initial()
        result.checkpoint = checkpoint.block
        first = checkpoint.block + 1
        last = min(first + checkpoint.range - 1, result.safe_head if result.safe_head is not None else -1)
        anchor = [checkpoint.block] if checkpoint.hash is not None else []
        before = self.rpc.blocks(anchor + ([last] if last >= first else []))
        if anchor and before[checkpoint.block].hash != checkpoint.hash:
            rewound = rewind(uow, self.rpc, self.chain_id, checkpoint, self._initial())
            write_checkpoint(uow, self.chain_id, rewound)
            result.reorgs += 1
            result.checkpoint = rewound.block
            return True
        if last < first:
            return False
        try:
            logs = self.rpc.logs(first, last, self.contracts, self.topics)
        except RpcError as exc:
            if not exc.range_too_large or checkpoint.range <= 1:
                raise
            smaller = max(checkpoint.range // 2, 1)
            logger.info("[Chain] range refused, halving", extra={"range": checkpoint.range, "error": str(exc)})
            write_checkpoint(uow, self.chain_id, replace(checkpoint, range=smaller))
            return True
        decoded = [e for log in logs if not log.removed and (e := decode_log(log)) is not None and self._creditable(e)]
        headers = self._headers_after(checkpoint, before[last], decoded)
        stored = self._store(uow, decoded)
        record_blocks(uow, self.chain_id, (h for n, h in headers.items() if n >= first))
        end = headers[last]
        grown = min(checkpoint.range * 2, self.settings.chain_max_block_range)
        write_checkpoint(uow, self.chain_id, Checkpoint(last, end.hash, end.timestamp, grown))
        result.refunds += refund_expired_withdrawals(uow, end.timestamp)
        result.ranges += 1
        result.range_sizes.append(last - first + 1)
        result.logs += len(logs)
        result.stored += stored
        result.checkpoint = last
        return True

    @staticmethod
    def _creditable(event: ChainLog) -> bool:
        """A zero amount moves nothing; one past NUMERIC(38,18) cannot be booked. Neither becomes a
        job; the second is an operator's problem, so it is loud."""
        if 0 < event.amount_wei < MAX_AMOUNT_WEI:
            return True
        if event.amount_wei:
            metrics.add_metric(name="ChainEventUnbookable", unit="Count", value=1)
            logger.error(
                "[Chain] event amount out of range, not credited",
                extra={
                    "txHash": event.log.tx_hash,
                    "logIndex": event.log.log_index,
                    "amountWei": str(event.amount_wei),
                },
            )
        return False

    def _headers_after(
        self, checkpoint: Checkpoint, last: BlockHeader, events: list[ChainLog]
    ) -> dict[int, BlockHeader]:
        """After reading the logs, in one batch: the checkpoint's block and the range's last block
        must be what they were before, and every event's block the canonical one. Otherwise a reorg
        happened while we read (logs from one fork, hashes from another): nothing is stored."""
        anchor = [checkpoint.block] if checkpoint.hash is not None else []
        headers = self.rpc.blocks([*anchor, last.number, *(e.log.block_number for e in events)])
        moved = anchor and headers[checkpoint.block].hash != checkpoint.hash
        if moved or headers[last.number].hash != last.hash:
            raise ChainInconsistent(f"the chain changed under blocks up to {last.number} while reading")
        for event in events:
            if headers[event.log.block_number].hash != event.log.block_hash:
                raise ChainInconsistent(f"block {event.log.block_number} changed while reading its logs")
        return headers

    def _store(self, uow: UnitOfWork, events: list[ChainLog]) -> int:
        """Store each event once (one INSERT per chunk); a new one, or one re-mined after its block
        was orphaned, gets its job in the outbox, in this transaction."""
        stored = 0
        for start in range(0, len(events), STORE_CHUNK):
            chunk = {(e.log.tx_hash, e.log.log_index): e for e in events[start : start + STORE_CHUNK]}
            statement = insert(ChainEvent).values(
                [
                    {
                        "chain_id": self.chain_id,
                        "tx_hash": e.log.tx_hash,
                        "log_index": e.log.log_index,
                        "contract": e.log.address,
                        "event": e.spec.name,
                        "block_number": e.log.block_number,
                        "block_hash": e.log.block_hash,
                        "args": e.args(),
                        "status": ChainEventStatus.ENQUEUED,
                    }
                    for e in chunk.values()
                ]
            )
            revived = {k: statement.excluded[k] for k in ("block_number", "block_hash", "args", "status")}
            upsert = statement.on_conflict_do_update(
                constraint="uq_chain_events_log",
                set_={**revived, "generation": ChainEvent.generation + 1},
                where=ChainEvent.status == ChainEventStatus.ORPHANED,
            ).returning(ChainEvent.tx_hash, ChainEvent.log_index, ChainEvent.generation)
            # Rows already stored by an earlier run are not returned: their jobs are on their way.
            for tx_hash, log_index, generation in uow.session.execute(upsert).all():
                event = chunk[(tx_hash, log_index)]
                payload = event.spec.message(
                    chainId=self.chain_id,
                    txHash=tx_hash,
                    logIndex=log_index,
                    blockNumber=event.log.block_number,
                    blockHash=event.log.block_hash,
                    generation=generation,
                    address=event.account,
                    amount=event.amount,
                    nonce=event.nonce,
                )
                enqueue_job(payload, uow)
                if event.spec.name == "Deposit":
                    uow.record(DepositSeen(account=event.account.lower(), amount=event.amount, tx_hash=tx_hash))
                stored += 1
        return stored
