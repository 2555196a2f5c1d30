"""A stand-in worker for testing the local event source mapping: fails the records whose body says so."""

from __future__ import annotations

from typing import Any

seen: list[str] = []


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        seen.append(record["body"])
        if record["body"] == "fail":
            failures.append({"itemIdentifier": record["messageId"]})
        if record["body"] == "crash":
            raise RuntimeError("the whole batch fails")
    return {"batchItemFailures": failures}
