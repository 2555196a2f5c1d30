"""The vertical slice: an API request writes a job to the outbox in its own transaction, the job goes
to SQS after commit, the worker consumes it and writes to the database, exactly once."""

from __future__ import annotations

from unittest import mock

from sqlalchemy import func, select

from gbc.data.models import AuditLog, OutboxJob, User
from gbc.data.transaction import unit_of_work
from gbc.queue import outbox
from tests.support.api import call_api
from tests.support.factories import make_user
from tests.support.sqs import receive, run_worker


def _count(model) -> int:
    with unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_request_to_outbox_to_sqs_to_worker_to_database(db, services):
    user = make_user()
    response = call_api(
        "PATCH", "/api/user", body={"username": "alice", "settings": {"soundEnabled": False}}, user_id=user.id
    )
    assert response.status == 200, response.body
    assert response.body["username"] == "alice"
    assert response.body["settings"] == {"soundEnabled": False}

    assert _count(OutboxJob) == 1, "sent after commit, kept until processed"
    messages = receive(services["queues"]["JobsQueue"])
    assert len(messages) == 1

    result = run_worker(messages)
    assert result == {"batchItemFailures": []}
    assert _count(OutboxJob) == 0, "gone with the transaction that processed it"
    with unit_of_work() as uow:
        audit = uow.session.scalars(select(AuditLog)).one()
    assert audit.user_id == user.id
    assert audit.action == "user.update"
    assert audit.old_values == {"username": None, "settings": {}}
    assert audit.new_values == {"username": "alice", "settings": {"soundEnabled": False}}
    assert audit.user_agent == "pytest"


def test_the_same_job_delivered_twice_has_one_effect(db, services):
    user = make_user()
    assert call_api("PATCH", "/api/user", body={"username": "bob"}, user_id=user.id).status == 200
    messages = receive(services["queues"]["JobsQueue"])
    run_worker(messages)
    run_worker(messages)  # SQS is at-least-once: the same message again
    assert _count(AuditLog) == 1


def test_a_job_committed_but_not_sent_is_delivered_by_the_sweep_once(db, services, monkeypatch, override_settings):
    user = make_user()
    # The crash window: the transaction commits, then the process dies before the send.
    with mock.patch.object(outbox, "_flush"):
        assert call_api("PATCH", "/api/user", body={"username": "carol"}, user_id=user.id).status == 200
    assert _count(OutboxJob) == 1
    assert receive(services["queues"]["JobsQueue"]) == []

    override_settings(OUTBOX_SWEEP_AGE_SECONDS=0)
    assert outbox.sweep_outbox() == 1
    assert outbox.sweep_outbox() == 0, "a second sweep finds nothing to send: it was just sent"
    messages = receive(services["queues"]["JobsQueue"])
    assert len(messages) == 1
    run_worker(messages)
    assert _count(AuditLog) == 1 and _count(OutboxJob) == 0


def test_a_malformed_record_fails_alone(db, services):
    user = make_user()
    assert call_api("PATCH", "/api/user", body={"username": "dave"}, user_id=user.id).status == 200
    good = receive(services["queues"]["JobsQueue"])
    bad = [{**good[0], "MessageId": "bad-1", "Body": '{"type": "audit:log", "payload": '}]
    unknown = [{**good[0], "MessageId": "bad-2", "Body": '{"type": "no:such", "payload": {}}'}]
    result = run_worker(bad + good + unknown)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["bad-1", "bad-2"]
    assert _count(AuditLog) == 1


def test_a_failed_update_writes_no_job(db, services):
    make_user(username="taken")
    user = make_user()
    response = call_api("PATCH", "/api/user", body={"username": "taken"}, user_id=user.id)
    assert response.status == 409
    assert response.body == {"error": "username is already taken", "details": {"field": "username"}}
    assert _count(OutboxJob) == 0
    assert receive(services["queues"]["JobsQueue"]) == []
    with unit_of_work() as uow:
        assert uow.session.get(User, user.id).username is None
