"""The poller's checkpoint: the last block fully processed, kept in system_config."""

from __future__ import annotations

from gbc.data.models import SystemConfig
from gbc.data.transaction import UnitOfWork


def checkpoint_key(chain_id: int) -> str:
    return f"chain_checkpoint:{chain_id}"


def read_checkpoint(uow: UnitOfWork, chain_id: int) -> int | None:
    row = uow.session.get(SystemConfig, checkpoint_key(chain_id))
    return int(row.value["block"]) if row else None
