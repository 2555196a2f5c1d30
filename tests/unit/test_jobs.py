from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from pydantic import ValidationError

import gbc.jobs.handlers  # noqa: F401 - fills the registry
from gbc.jobs.registry import REGISTRY, UnknownJobType, handles, spec_for
from gbc.messages import AuditLogPayload, DepositEventPayload, WithdrawEventPayload
from gbc.queue.jobs import Job, Message, new_job

DESIGN_JOB_TYPES = {
    "blockchain:deposit",
    "blockchain:withdraw",
    "blockchain:faucet",
    "stats:recompute",
    "transaction:create",
    "audit:log",
}


def test_every_job_type_of_the_design_has_one_message_and_one_handler():
    assert set(REGISTRY) == DESIGN_JOB_TYPES
    for job_type, spec in REGISTRY.items():
        assert job_type == spec.message.JOB_TYPE and callable(spec.handler)


def test_a_second_handler_for_a_job_type_is_refused():
    with pytest.raises(ValueError, match="already has a handler"):
        handles(AuditLogPayload)(lambda uow, message: None)


def test_envelope_round_trips_through_a_message():
    job = new_job(AuditLogPayload(action="user.update", resource="user", userId=uuid.uuid4()))
    again = Job.model_validate_json(job.to_message())
    assert again == job
    assert isinstance(spec_for(again).decode(again), AuditLogPayload)
    assert set(job.model_dump(by_alias=True)) == {"id", "type", "payload", "createdAt"}


def _chain(kind: type[Message]) -> Message:
    return kind(
        chainId=1,
        txHash="0x" + "a" * 64,
        logIndex=0,
        blockNumber=1,
        blockHash="0x" + "1" * 64,
        address="0x" + "b" * 40,
        amount=Decimal("1.5"),
    )


def test_withdrawals_go_to_the_priority_queue():
    assert new_job(_chain(WithdrawEventPayload)).queue == "priority"
    deposit = new_job(_chain(DepositEventPayload))
    assert deposit.queue == "jobs"
    # Decimal survives the JSON trip exactly.
    assert spec_for(deposit).decode(deposit).amount == Decimal("1.5")  # type: ignore[attr-defined]


def test_unknown_type_and_bad_payload_are_refused():
    with pytest.raises(UnknownJobType):
        spec_for(Job.model_validate({"type": "no:such", "payload": {}}))
    job = Job.model_validate({"type": "audit:log", "payload": {"resource": "user"}})
    with pytest.raises(ValidationError):
        spec_for(job).decode(job)
