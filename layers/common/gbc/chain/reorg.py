"""Reorgs: the stored hashes of the blocks the poller relied on, and the rewind to the last one the
chain still agrees with.

Everything above that block is undone in the poller's transaction: its events are marked orphaned,
a credit already applied gets a compensating ledger entry, a withdrawal completed by an orphaned
Withdraw is pending again (its voucher is still good on the new fork). Logs re-mined on the new fork
are then read again as new events: credited once more, so the net is exactly one credit.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from gbc.chain.checkpoint import Checkpoint
from gbc.chain.rpc import BlockHeader, JsonRpcClient
from gbc.data.models import ChainBlock, ChainEvent, ChainEventStatus
from gbc.data.transaction import UnitOfWork
from gbc.observability import logger, metrics
from gbc.wallet.chain_credits import undo_orphaned_event

# How far back a rewind looks for a block both sides agree on (stored blocks, newest first).
ANCESTOR_SEARCH = 256


class ReorgTooDeep(Exception):
    """No stored block is on the chain any more: a human must look (the poller stops)."""


def record_blocks(uow: UnitOfWork, chain_id: int, headers: Iterable[BlockHeader]) -> None:
    rows = [{"chain_id": chain_id, "number": h.number, "hash": h.hash, "timestamp": h.timestamp} for h in headers]
    if rows:
        statement = insert(ChainBlock).values(rows)
        uow.session.execute(
            statement.on_conflict_do_update(
                index_elements=[ChainBlock.chain_id, ChainBlock.number],
                set_={"hash": statement.excluded.hash, "timestamp": statement.excluded.timestamp},
            )
        )


def rewind(
    uow: UnitOfWork, rpc: JsonRpcClient, chain_id: int, checkpoint: Checkpoint, genesis: Checkpoint
) -> Checkpoint:
    """Undo everything above the newest stored block that is still canonical; returns the checkpoint
    to read on from."""
    stored = uow.session.scalars(
        select(ChainBlock)
        .where(ChainBlock.chain_id == chain_id, ChainBlock.number <= checkpoint.block)
        .order_by(ChainBlock.number.desc())
        .limit(ANCESTOR_SEARCH)
    ).all()
    canonical = rpc.blocks([b.number for b in stored]) if stored else {}
    ancestor = next((b for b in stored if canonical[b.number].hash == b.hash), None)
    if ancestor is None and len(stored) == ANCESTOR_SEARCH:
        raise ReorgTooDeep(f"none of the last {ANCESTOR_SEARCH} stored blocks is canonical")
    target = (
        Checkpoint(ancestor.number, ancestor.hash, ancestor.timestamp, checkpoint.range)
        if ancestor is not None
        else genesis
    )
    orphaned = uow.session.scalars(
        select(ChainEvent)
        .where(
            ChainEvent.chain_id == chain_id,
            ChainEvent.block_number > target.block,
            ChainEvent.status != ChainEventStatus.ORPHANED,
        )
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
        .with_for_update()
    ).all()
    for event in orphaned:
        undo_orphaned_event(uow, event)
    uow.session.execute(delete(ChainBlock).where(ChainBlock.chain_id == chain_id, ChainBlock.number > target.block))
    metrics.add_metric(name="ChainReorgs", unit="Count", value=1)
    logger.warning(
        "[Chain] reorg: rewound",
        extra={"from": checkpoint.block, "to": target.block, "orphanedEvents": len(orphaned)},
    )
    return target
