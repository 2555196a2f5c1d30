"""Job types, their typed payloads and the envelope that travels on SQS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobType = Literal[
    "blockchain:deposit",
    "blockchain:withdraw",
    "blockchain:faucet",
    "stats:recompute",
    "transaction:create",
    "audit:log",
]
QueueName = Literal["jobs", "priority"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditLogPayload(Payload):
    user_id: uuid.UUID | None = Field(None, alias="userId")
    action: str = Field(max_length=64)
    resource: str = Field(max_length=64)
    resource_id: str | None = Field(None, alias="resourceId", max_length=128)
    old_values: dict[str, Any] | None = Field(None, alias="oldValues")
    new_values: dict[str, Any] | None = Field(None, alias="newValues")
    ip_address: str | None = Field(None, alias="ipAddress", max_length=45)
    user_agent: str | None = Field(None, alias="userAgent", max_length=512)


class StatsRecomputePayload(Payload):
    user_id: uuid.UUID = Field(alias="userId")
    trigger: str = "manual"
    game_id: uuid.UUID | None = Field(None, alias="gameId")


class ChainEventPayload(Payload):
    """blockchain:deposit | withdraw | faucet: one decoded log, credited once per (tx hash, log index)."""

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


class TransactionCreatePayload(Payload):
    user_id: uuid.UUID = Field(alias="userId")
    type: str
    amount: Decimal
    reference_id: str = Field(alias="referenceId", max_length=128)
    metadata: dict[str, Any] | None = None


PAYLOADS: dict[str, type[Payload]] = {
    "blockchain:deposit": ChainEventPayload,
    "blockchain:withdraw": ChainEventPayload,
    "blockchain:faucet": ChainEventPayload,
    "stats:recompute": StatsRecomputePayload,
    "transaction:create": TransactionCreatePayload,
    "audit:log": AuditLogPayload,
}

# Withdrawals must not wait behind a backlog of stats jobs.
QUEUE_OF: dict[str, QueueName] = {"blockchain:withdraw": "priority"}


class Job(BaseModel):
    """The envelope: {id, type, payload, createdAt}."""

    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: JobType
    payload: dict[str, Any]
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC), alias="createdAt")

    def typed_payload(self) -> Payload:
        return PAYLOADS[self.type].model_validate(self.payload)

    @property
    def queue(self) -> QueueName:
        return QUEUE_OF.get(self.type, "jobs")

    def to_message(self) -> str:
        return self.model_dump_json(by_alias=True)


def new_job(job_type: JobType, payload: Payload) -> Job:
    return Job(type=job_type, payload=payload.model_dump(mode="json", by_alias=True, exclude_none=True))
