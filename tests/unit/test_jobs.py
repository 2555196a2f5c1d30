from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from pydantic import ValidationError

from gbc.queue.jobs import PAYLOADS, AuditLogPayload, ChainEventPayload, Job, new_job


def test_every_job_type_has_a_payload_model():
    assert set(PAYLOADS) == {
        "blockchain:deposit",
        "blockchain:withdraw",
        "blockchain:faucet",
        "stats:recompute",
        "transaction:create",
        "audit:log",
    }


def test_envelope_round_trips_through_a_message():
    job = new_job("audit:log", AuditLogPayload(action="user.update", resource="user", userId=uuid.uuid4()))
    again = Job.model_validate_json(job.to_message())
    assert again == job
    assert isinstance(again.typed_payload(), AuditLogPayload)
    assert set(job.model_dump(by_alias=True)) == {"id", "type", "payload", "createdAt"}


def test_withdrawals_go_to_the_priority_queue():
    payload = ChainEventPayload(
        chainId=1,
        txHash="0x" + "a" * 64,
        logIndex=0,
        blockNumber=1,
        blockHash="0x" + "1" * 64,
        address="0x" + "b" * 40,
        amount=Decimal("1.5"),
    )
    assert new_job("blockchain:withdraw", payload).queue == "priority"
    assert new_job("blockchain:deposit", payload).queue == "jobs"
    # Decimal survives the JSON trip exactly.
    assert new_job("blockchain:deposit", payload).typed_payload().amount == Decimal("1.5")


def test_unknown_type_and_bad_payload_are_refused():
    with pytest.raises(ValidationError):
        Job.model_validate({"type": "no:such", "payload": {}})
    with pytest.raises(ValidationError):
        Job.model_validate({"type": "audit:log", "payload": {"resource": "user"}}).typed_payload()
