"""The local stack's Lambda containers under faults: a container killed mid-invocation fails that
invocation (as a crashed runtime) and is replaced, one found dead is replaced, one whose handler
raised or that ran past the Timeout is not used again, and the pool never shrinks for good.

The containers are real processes running `handler` below (this module, imported in each one)."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.containers import ContainerDied, ContainerPool, InvocationError, InvocationTimeout
from devstack.sqs_pump import SqsPump
from devstack.template import Function, load_stack
from gbc.after_response import after_the_response, defer

FN = "FaultyFunction"


@after_the_response
def deferring_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answers at once and, given a marker, leaves 0.3 s of work for after its response
    (gbc.after_response)."""
    if "marker" in event:
        marker = Path(event["marker"])

        def later() -> None:
            time.sleep(0.3)
            marker.write_text("done")

        defer(later)
    return {"pid": os.getpid()}


@after_the_response
def niceness_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Leaves for after its response the writing of the niceness of the thread that runs it."""
    marker = Path(event["marker"])

    def later() -> None:
        marker.write_text(str(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))

    defer(later)
    return {"niceness": os.getpriority(os.PRIO_PROCESS, 0)}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "Records" in event:  # an SQS batch: dies on a "crash" record, like a killed worker
        if any(record["body"] == "crash" for record in event["Records"]):
            os._exit(9)
        return {"batchItemFailures": []}
    action = event.get("do")
    if action == "sleep":
        time.sleep(float(event["seconds"]))
    elif action == "exit":
        os._exit(3)
    elif action == "raise":
        raise ValueError("boom")
    elif action == "deny":
        raise Exception("Unauthorized")  # what a TOKEN authorizer raises for a 401
    return {"pid": os.getpid()}


def _pool(size: int = 1, timeout: int = 30) -> ContainerPool:
    function = Function(FN, f"{__name__}.handler", timeout, 128)
    return ContainerPool({FN: function}, {}, size=size, answers={FN: {"Unauthorized"}})


@pytest.fixture
def pool() -> Iterator[ContainerPool]:
    pool = _pool()
    yield pool
    pool.stop()


def _pid(pool: ContainerPool) -> int:
    return int(pool.invoke(FN, {})["pid"])


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:  # a zombie nobody reaped yet is dead too
        return stat.read().split(") ", 1)[1].startswith("Z")


def _wait_busy(pool: ContainerPool) -> None:
    deadline = time.monotonic() + 10
    while not pool.describe()[FN]["busy"]:
        assert time.monotonic() < deadline, "the invocation never started"
        time.sleep(0.01)


def test_a_container_killed_mid_invocation_fails_only_that_invocation_and_is_replaced(pool):
    first = _pid(pool)
    outcome: list[BaseException] = []

    def slow() -> None:
        try:
            pool.invoke(FN, {"do": "sleep", "seconds": 10})
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    _wait_busy(pool)
    killed = pool.kill(FN)
    thread.join(timeout=5)

    assert killed == {"function": FN, "pid": first, "busy": True}
    assert len(outcome) == 1 and isinstance(outcome[0], ContainerDied), outcome
    assert outcome[0].error_type == "Runtime.ExitError"
    second = _pid(pool)
    assert second != first and _dead(first)
    assert pool.describe()[FN] == {"size": 1, "pids": [second], "busy": [], "discarded": 1}


def test_a_container_found_dead_is_replaced_without_failing_the_invocation(pool):
    first = _pid(pool)
    os.kill(first, signal.SIGKILL)
    time.sleep(0.1)
    assert _pid(pool) != first


def test_an_idle_container_killed_on_request_leaves_the_pool_at_once(pool):
    first = _pid(pool)
    assert pool.kill(FN) == {"function": FN, "pid": first, "busy": False}
    assert pool.describe()[FN]["pids"] == []
    assert _pid(pool) != first


def test_a_container_whose_handler_raised_is_not_used_again(pool):
    first = _pid(pool)
    with pytest.raises(InvocationError) as raised:
        pool.invoke(FN, {"do": "raise"})
    assert type(raised.value) is InvocationError and raised.value.error_type == "ValueError"
    assert str(raised.value) == "boom"
    assert _pid(pool) != first


def test_an_error_that_is_the_functions_answer_keeps_the_container_warm(pool):
    first = _pid(pool)
    with pytest.raises(InvocationError, match="Unauthorized"):
        pool.invoke(FN, {"do": "deny"})
    assert _pid(pool) == first


def test_a_crashing_handler_fails_its_invocation_and_the_next_one_gets_a_new_container(pool):
    first = _pid(pool)
    with pytest.raises(ContainerDied, match="exit status 3"):
        pool.invoke(FN, {"do": "exit"})
    assert _pid(pool) != first


def test_an_invocation_past_the_timeout_is_killed_and_the_container_replaced():
    pool = _pool(timeout=1)
    try:
        first = _pid(pool)  # warm: the next invocation gets the Timeout only, not the init time
        started = time.monotonic()
        with pytest.raises(InvocationTimeout, match=r"Task timed out after 1\.00 seconds"):
            pool.invoke(FN, {"do": "sleep", "seconds": 20})
        assert time.monotonic() - started < 3
        assert _dead(first)
        assert _pid(pool) != first
    finally:
        pool.stop()


def test_the_pool_stays_at_its_size_and_stop_leaves_no_container():
    pool = _pool(size=2)
    try:
        threads = [threading.Thread(target=pool.invoke, args=(FN, {"do": "sleep", "seconds": 0.5})) for _ in range(4)]
        for thread in threads:
            thread.start()
        _wait_busy(pool)
        assert len(pool.describe()[FN]["pids"]) <= 2
        for thread in threads:
            thread.join()
        pids = pool.pids()
        assert 1 <= len(pids) <= 2
    finally:
        pool.stop()
    assert all(_dead(pid) for pid in pids)


def test_a_batch_whose_container_died_is_not_deleted_and_comes_back(pool, sqs_queues):
    from gbc.queue.sqs import sqs_client
    from tests.conftest import MOTO_SQS_ENDPOINT

    stack = load_stack(sqs_endpoint=MOTO_SQS_ENDPOINT)
    mapping = next(m for m in stack.mappings if m.queue == "JobsQueue")
    mapping = dataclasses.replace(mapping, function=FN)  # the template's mapping, to our function
    client = sqs_client()
    url = sqs_queues["JobsQueue"]
    client.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    for body in ("ok", "crash"):
        client.send_message(QueueUrl=url, MessageBody=body)
    logged: list[str] = []
    pump = SqsPump(stack, pool, client, logged.append)

    assert pump.poll_once(mapping, wait_seconds=0) == 2
    assert "ContainerDied" in logged[0]
    time.sleep(1.2)
    again = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    assert sorted(m["Body"] for m in again["Messages"]) == ["crash", "ok"]
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "2" for m in again["Messages"])


def test_a_container_answers_first_and_runs_its_post_response_work_before_the_next_invocation(tmp_path):
    pool = ContainerPool({"Deferring": Function("Deferring", f"{__name__}.deferring_handler", 30, 128)}, {}, size=1)
    try:
        pool.invoke("Deferring", {})  # the cold start
        started = time.monotonic()
        pool.invoke("Deferring", {"marker": str(tmp_path / "first")})
        assert time.monotonic() - started < 0.25, "the answer does not wait for the work"
        assert not (tmp_path / "first").exists()
        started = time.monotonic()
        pool.invoke("Deferring", {"marker": str(tmp_path / "second")})
        assert (tmp_path / "first").read_text() == "done", "the work ran before the next invocation"
        assert time.monotonic() - started >= 0.2, "the next invocation waited for it, as Lambda's would"
    finally:
        pool.stop()


def test_the_most_recently_used_free_container_runs_the_next_invocation():
    """As Lambda reuses a warm environment: two containers exist, and sequential invocations keep
    going to the one that answered last, whatever order they were freed in."""
    pool = _pool(size=2)
    try:
        started = threading.Barrier(2)

        def together() -> None:
            started.wait()
            pool.invoke(FN, {"do": "sleep", "seconds": 0.3})

        threads = [threading.Thread(target=together) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert pool.describe()[FN]["size"] == 2
        last = _pid(pool)
        assert [_pid(pool) for _ in range(5)] == [last] * 5
    finally:
        pool.stop()


def test_containers_no_request_waits_for_run_niced_and_the_api_s_do_not():
    """In AWS a worker has capacity of its own; on one machine its containers yield the CPU to the
    request path (devstack.containers.BACKGROUND_NICE)."""
    from devstack.containers import BACKGROUND_NICE
    from devstack.template import background_functions

    stack = load_stack(sqs_endpoint="http://127.0.0.1:1")
    background = background_functions(stack)
    assert {"WorkerFunction", "NotifierFunction", "OutboxSweepFunction", "ChainPollerFunction"} <= background
    assert not background & {"ApiFunction", "AuthFunction", "AuthorizerFunction", "RealtimeFunction"}

    fn = Function(FN, f"{__name__}.handler", 30, 128)
    functions = {
        "Worker": dataclasses.replace(fn, logical_id="Worker"),
        "Api": dataclasses.replace(fn, logical_id="Api"),
    }
    pool = ContainerPool(functions, {}, size=1, background=frozenset({"Worker"}))
    try:
        worker_pid = pool.invoke("Worker", {})["pid"]
        api_pid = pool.invoke("Api", {})["pid"]
        own = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, worker_pid) == min(own + BACKGROUND_NICE, 19)
        assert os.getpriority(os.PRIO_PROCESS, api_pid) == own
    finally:
        pool.stop()


def test_an_api_container_runs_its_after_response_work_niced_and_its_requests_not(tmp_path):
    """In AWS the after-response work runs in the function's own environment; here it would compete
    with the gateway still sending the response, so it runs in a niced thread."""
    from devstack.containers import BACKGROUND_NICE

    fn = Function("Api", f"{__name__}.niceness_handler", 30, 128)
    pool = ContainerPool({"Api": fn}, {}, size=1)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        for i in range(2):  # the second request runs at full priority again
            marker = tmp_path / f"after-{i}"
            assert pool.invoke("Api", {"marker": str(marker)}) == {"niceness": own}
            deadline = time.monotonic() + 10
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert int(marker.read_text()) == min(own + BACKGROUND_NICE, 19)
    finally:
        pool.stop()
