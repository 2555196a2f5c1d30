"""The local stack's SQS -> worker mapping behaves like Lambda's: batch size, partial batch
responses, failed messages visible again after the visibility timeout, the DLQ after 3 receives."""

from __future__ import annotations

import json
import time

import pytest

from devstack.runtime import Runtime
from devstack.sqs_pump import SqsPump
from devstack.template import Function, load_stack
from gbc.queue.sqs import sqs_client
from tests.conftest import MOTO_SQS_ENDPOINT
from tests.support import fake_worker


@pytest.fixture
def pump(sqs_queues):
    stack = load_stack(sqs_endpoint=MOTO_SQS_ENDPOINT)
    runtime = Runtime({"WorkerFunction": Function("WorkerFunction", "tests.support.fake_worker.handler", 30, 128)})
    fake_worker.seen.clear()
    client = sqs_client()
    # Short visibility so the test can watch a failed message come back.
    client.set_queue_attributes(QueueUrl=sqs_queues["JobsQueue"], Attributes={"VisibilityTimeout": "1"})
    mapping = next(m for m in stack.mappings if m.queue == "JobsQueue")
    return SqsPump(stack, runtime, client, lambda message: None), mapping, sqs_queues


def _send(url: str, *bodies: str) -> None:
    for body in bodies:
        sqs_client().send_message(QueueUrl=url, MessageBody=body)


def _visible(url: str) -> int:
    attributes = sqs_client().get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_only_reported_failures_stay_and_come_back_after_the_visibility_timeout(pump):
    pump, mapping, queues = pump
    _send(queues["JobsQueue"], "ok-1", "fail", "ok-2")
    assert pump.poll_once(mapping, wait_seconds=0) == 3
    assert _visible(queues["JobsQueue"]) == 0, "the failed one is in flight, the others deleted"
    time.sleep(1.2)
    assert _visible(queues["JobsQueue"]) == 1
    assert pump.poll_once(mapping, wait_seconds=0) == 1
    assert fake_worker.seen == ["ok-1", "fail", "ok-2", "fail"]


def test_a_raised_error_keeps_the_whole_batch(pump):
    pump, mapping, queues = pump
    _send(queues["JobsQueue"], "ok", "crash")
    pump.poll_once(mapping, wait_seconds=0)
    time.sleep(1.2)
    assert _visible(queues["JobsQueue"]) == 2


def test_a_message_failing_max_receive_count_times_lands_in_the_dlq(pump):
    pump, mapping, queues = pump
    _send(queues["JobsQueue"], "fail")
    redrive = json.loads(load_stack(sqs_endpoint=MOTO_SQS_ENDPOINT).queues["JobsQueue"].attributes["RedrivePolicy"])
    receives = redrive["maxReceiveCount"]
    for _ in range(receives):
        assert pump.poll_once(mapping, wait_seconds=0) == 1
        time.sleep(1.1)
    assert pump.poll_once(mapping, wait_seconds=0) == 0
    assert _visible(queues["JobsDLQ"]) == 1


def test_batches_respect_the_batch_size(pump):
    pump, mapping, queues = pump
    _send(queues["JobsQueue"], *[f"ok-{i}" for i in range(15)])
    assert pump.poll_once(mapping, wait_seconds=0) <= mapping.batch_size
