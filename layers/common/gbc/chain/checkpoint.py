"""The poller's checkpoint, kept in system_config: the last block fully processed (its number, hash
and timestamp) and the block range that last worked. It changes only in the transaction that stores
that range's events, so a crash anywhere resumes exactly where the last commit left off."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from gbc.data.models import ChainBlock, ChainEvent, SystemConfig
from gbc.data.transaction import UnitOfWork


@dataclass(frozen=True)
class Checkpoint:
    block: int
    hash: str | None  # None before the first range: nothing to compare yet
    timestamp: int
    range: int


def checkpoint_key(chain_id: int) -> str:
    return f"chain_checkpoint:{chain_id}"


def read_checkpoint(uow: UnitOfWork, chain_id: int, *, lock: bool = False) -> Checkpoint | None:
    """The checkpoint; with lock, held until commit so two pollers never read the same range."""
    query = select(SystemConfig).where(SystemConfig.key == checkpoint_key(chain_id))
    if lock:
        query = query.with_for_update()
    row = uow.session.scalars(query).first()
    if row is None:
        return None
    value = row.value
    return Checkpoint(int(value["block"]), value.get("hash"), int(value.get("timestamp", 0)), int(value["range"]))


def write_checkpoint(uow: UnitOfWork, chain_id: int, checkpoint: Checkpoint) -> None:
    value = asdict(checkpoint)
    uow.session.execute(
        insert(SystemConfig)
        .values(key=checkpoint_key(chain_id), value=value, description="chain poller checkpoint")
        .on_conflict_do_update(index_elements=[SystemConfig.key], set_={"value": value, "updated_at": func.now()})
    )


def forget_chain(uow: UnitOfWork, chain_id: int) -> None:
    """Start reading a chain afresh: for a development chain that restarted empty (hardhat keeps its
    chain in memory). Its old blocks and events would otherwise look like one deep reorg, and a
    transaction replayed with the same nonce would have the same hash as an old one. The ledger keeps
    every credit: their references carry the block hash, which differs on the new chain."""
    uow.session.execute(delete(SystemConfig).where(SystemConfig.key == checkpoint_key(chain_id)))
    uow.session.execute(delete(ChainBlock).where(ChainBlock.chain_id == chain_id))
    uow.session.execute(delete(ChainEvent).where(ChainEvent.chain_id == chain_id))
