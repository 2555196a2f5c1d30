"""What each job type carries: one message class per type, declaring its type name and its queue.

Domain code enqueues these (`enqueue_job(Message(...), uow)`); gbc.jobs binds each to its handler.
This module depends on nothing else in gbc, so anything may import it."""

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field

from gbc.queue.jobs import Message, QueueName


class AuditLogPayload(Message):
    JOB_TYPE: ClassVar[str] = "audit:log"

    user_id: uuid.UUID | None = Field(None, alias="userId")
    action: str = Field(max_length=64)
    resource: str = Field(max_length=64)
    resource_id: str | None = Field(None, alias="resourceId", max_length=128)
    old_values: dict[str, Any] | None = Field(None, alias="oldValues")
    new_values: dict[str, Any] | None = Field(None, alias="newValues")
    ip_address: str | None = Field(None, alias="ipAddress", max_length=45)
    user_agent: str | None = Field(None, alias="userAgent", max_length=512)


class StatsRecomputePayload(Message):
    JOB_TYPE: ClassVar[str] = "stats:recompute"

    user_id: uuid.UUID = Field(alias="userId")
    trigger: str = "manual"
    game_id: uuid.UUID | None = Field(None, alias="gameId")


class TransactionCreatePayload(Message):
    JOB_TYPE: ClassVar[str] = "transaction:create"

    user_id: uuid.UUID = Field(alias="userId")
    type: str
    amount: Decimal
    reference_id: str = Field(alias="referenceId", max_length=128)
    metadata: dict[str, Any] | None = None


class ChainEventPayload(Message):
    """One decoded log, credited once per (tx hash, log index); a job type per event below."""

    chain_id: int = Field(alias="chainId")
    tx_hash: str = Field(alias="txHash", pattern=r"^0x[0-9a-fA-F]{64}$")
    log_index: int = Field(alias="logIndex", ge=0)
    block_number: int = Field(alias="blockNumber", ge=0)
    # Part of the credit's identity: a log re-mined in another block after a reorg is a new credit
    # (the one in the orphaned block is reversed).
    block_hash: str = Field(alias="blockHash", pattern=r"^0x[0-9a-fA-F]{64}$")
    # The stored event's generation (gbc.data.models.ChainEvent.generation).
    generation: int = Field(0, ge=0)
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    amount: Decimal = Field(gt=0)
    nonce: int | None = None


class DepositEventPayload(ChainEventPayload):
    JOB_TYPE: ClassVar[str] = "blockchain:deposit"


class WithdrawEventPayload(ChainEventPayload):
    JOB_TYPE: ClassVar[str] = "blockchain:withdraw"
    # Withdrawals must not wait behind a backlog of stats jobs.
    QUEUE: ClassVar[QueueName] = "priority"


class FaucetEventPayload(ChainEventPayload):
    JOB_TYPE: ClassVar[str] = "blockchain:faucet"
