"""The template's SQS event source mappings: long-poll the queue, hand batches to the function as an
SQS event, delete what succeeded. With ReportBatchItemFailures only the reported records stay. An
invocation that fails (the handler raised, its container died or timed out mid-batch) keeps the
whole batch: nothing of it is deleted. What stays becomes visible again after its visibility timeout
(or whatever the handler set), and the queue's redrive policy moves it to the DLQ after maxReceiveCount."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from devstack.runtime import Invoker
from devstack.template import SqsMapping, Stack

WAIT_SECONDS = 1
REPORT_EVERY_SECONDS = 10.0  # an outage is reported once per poller, then every 10 s while it lasts


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def failed_ids(mapping: SqsMapping, result: Any, raised: bool, messages: list[dict[str, Any]]) -> set[str]:
    if raised:
        return {m["MessageId"] for m in messages}
    if mapping.report_failures and isinstance(result, dict):
        return {str(item["itemIdentifier"]) for item in result.get("batchItemFailures", [])}
    return set()


class SqsPump:
    def __init__(
        self, stack: Stack, runtime: Invoker, client: Any, log: Callable[[str], None], concurrency_cap: int = 4
    ) -> None:
        self.stack, self.runtime, self.client, self.log = stack, runtime, client, log
        self.concurrency_cap = concurrency_cap
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def poll_once(self, mapping: SqsMapping, wait_seconds: int = WAIT_SECONDS) -> int:
        """Receive one batch and run it through the function; returns how many messages it saw."""
        resolver = self.stack.resolver
        url = resolver.resolve({"Ref": mapping.queue})
        arn = resolver.resolve({"Fn::GetAtt": [mapping.queue, "Arn"]})
        messages = self.client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(mapping.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        result, raised = None, False
        try:
            result = self.runtime.invoke(mapping.function, sqs_event(messages, arn))
        except Exception as exc:
            raised = True
            self.log(f"{mapping.function} failed a batch of {len(messages)}: {exc!r}")
        failed = failed_ids(mapping, result, raised, messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.client.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)

    def _loop(self, mapping: SqsMapping) -> None:
        failing_since: float | None = None
        while not self.stopping.is_set():
            try:
                self.poll_once(mapping)
            except Exception as exc:  # keep pumping through an SQS outage (moto restarting)
                now = time.monotonic()
                if failing_since is None or now - failing_since >= REPORT_EVERY_SECONDS:
                    self.log(f"pump {mapping.queue}: {exc!r}; retrying every second")
                    failing_since = now
                self.stopping.wait(1)
                continue
            if failing_since is not None:
                self.log(f"pump {mapping.queue}: receiving again")
                failing_since = None

    def start(self) -> None:
        for mapping in self.stack.mappings:
            for n in range(min(mapping.max_concurrency, self.concurrency_cap)):
                thread = threading.Thread(
                    target=self._loop, args=(mapping,), name=f"sqs-{mapping.queue}-{n}", daemon=True
                )
                thread.start()
                self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=WAIT_SECONDS + 2)
