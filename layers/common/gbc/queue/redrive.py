"""DLQ redrive: list what is in a dead-letter queue, and move it back to its source queue.

On AWS this is SQS's own StartMessageMoveTask. Where that API is missing (moto, hence the local stack)
messages are moved by receive -> send -> delete: a message is deleted from the DLQ only after the
source queue accepted it, so a crash can duplicate a message but never lose one (handlers are idempotent).

    python -m gbc.queue.redrive --queue jobs            # dry run: list
    python -m gbc.queue.redrive --queue jobs --move     # move back
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from botocore.exceptions import ClientError

from gbc.queue.sqs import sqs_client
from gbc.settings import get_settings

_UNSUPPORTED = {"InternalFailure", "NotImplemented", "UnsupportedOperation", "InvalidAction", "InternalError"}


def queue_pair(name: str) -> tuple[str, str]:
    """(DLQ URL, source queue URL) of 'jobs' or 'priority'."""
    settings = get_settings()
    pairs = {
        "jobs": (settings.jobs_dlq_url, settings.jobs_queue_url),
        "priority": (settings.priority_dlq_url, settings.priority_queue_url),
    }
    dlq, source = pairs[name]
    if not dlq or not source:
        raise RuntimeError(f"queue URLs for {name!r} are not configured")
    return dlq, source


def list_messages(dlq_url: str, limit: int = 100) -> list[dict[str, Any]]:
    """Peek at up to `limit` DLQ messages. Each is hidden for a moment while listing (so the next
    receive returns others) and made visible again at the end: they stay where they are."""
    client = sqs_client()
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    while len(seen) < limit:
        messages = client.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=30,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            handles.append(message["ReceiptHandle"])
            seen[message["MessageId"]] = _summary(message)
    for start in range(0, len(handles), 10):
        client.change_message_visibility_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ],
        )
    return list(seen.values())


def _summary(message: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = None
    job = body if isinstance(body, dict) else {}
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "jobId": job.get("id"),
        "type": job.get("type"),
        "receiveCount": int(attributes.get("ApproximateReceiveCount", 0)),
        "sentTimestamp": attributes.get("SentTimestamp"),
        "body": None if job else message["Body"][:200],
    }


def _arn(url: str) -> str:
    return str(sqs_client().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def _move_by_copy(dlq_url: str, source_url: str, limit: int | None) -> int:
    client = sqs_client()
    moved = 0
    while limit is None or moved < limit:
        batch = client.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if limit is not None:
            batch = batch[: limit - moved]
        if not batch:
            return moved
        sent = client.send_message_batch(
            QueueUrl=source_url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": m["Body"],
                    **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {}),
                }
                for i, m in enumerate(batch)
            ],
        ).get("Successful", [])
        done = [batch[int(ok["Id"])] for ok in sent]
        if done:
            client.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        moved += len(done)
    return moved


def redrive(dlq_url: str, source_url: str, limit: int | None = None) -> dict[str, Any]:
    """Move DLQ messages back to the source queue. Returns how, and what it could count."""
    client = sqs_client()
    if limit is None:
        try:
            task = client.start_message_move_task(SourceArn=_arn(dlq_url), DestinationArn=_arn(source_url))
            return {"method": "StartMessageMoveTask", "taskHandle": task["TaskHandle"]}
        except NotImplementedError:
            pass  # moto in-process
        except ClientError as exc:
            # moto server answers a bare 500 for APIs it lacks; the copy-move is correct anyway.
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if exc.response.get("Error", {}).get("Code") not in _UNSUPPORTED and status < 500:
                raise
    return {"method": "receive-send-delete", "moved": _move_by_copy(dlq_url, source_url, limit)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gbc.queue.redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", choices=["jobs", "priority"], default="jobs")
    parser.add_argument("--move", action="store_true", help="move the messages back (default: only list them)")
    parser.add_argument("--limit", type=int, help="at most this many (forces receive-send-delete)")
    args = parser.parse_args(argv)
    dlq, source = queue_pair(args.queue)
    if args.move:
        print(json.dumps(redrive(dlq, source, args.limit), indent=2))
    else:
        messages = list_messages(dlq, args.limit or 100)
        print(json.dumps({"dlq": dlq, "count": len(messages), "messages": messages}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
