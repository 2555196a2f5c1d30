"""Tickets and connections, in one DynamoDB table (pk, sk; `expiresAt` is its TTL attribute):

    ticket#<ticket>  ticket          userId, expiresAt   single use: redeemed by a conditional delete
    user#<userId>    conn#<connId>   expiresAt           a user's connections (one Query)
    conn#<connId>    conn            userId, expiresAt   who a connection is ($disconnect, pruning)

DynamoDB's TTL deletes expired items within days, not at once: every read checks `expiresAt`."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from gbc.settings import get_settings

CONNECTION_TTL_SECONDS = 2 * 3600 + 600  # API Gateway closes a WebSocket after 2 h


@lru_cache(maxsize=1)
def _client() -> Any:
    settings = get_settings()
    return boto3.client(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint_url,
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}),
    )


def _table() -> str:
    table = get_settings().realtime_table
    if not table:
        raise RuntimeError("REALTIME_TABLE is not configured")
    return table


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_at: int  # epoch seconds


def issue_ticket(user_id: uuid.UUID) -> Ticket:
    ticket = Ticket(secrets.token_urlsafe(32), int(time.time()) + get_settings().realtime_ticket_ttl_seconds)
    _client().put_item(
        TableName=_table(),
        Item={
            "pk": {"S": f"ticket#{ticket.ticket}"},
            "sk": {"S": "ticket"},
            "userId": {"S": str(user_id)},
            "expiresAt": {"N": str(ticket.expires_at)},
        },
    )
    return ticket


def redeem_ticket(ticket: str) -> uuid.UUID | None:
    """The ticket's user, once: the ticket is deleted on the way (a reused or expired one is None)."""
    if not ticket or len(ticket) > 128:
        return None
    try:
        old = _client().delete_item(
            TableName=_table(),
            Key={"pk": {"S": f"ticket#{ticket}"}, "sk": {"S": "ticket"}},
            ConditionExpression="attribute_exists(pk) AND expiresAt > :now",
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
            ReturnValues="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise
    return uuid.UUID(old["Attributes"]["userId"]["S"])


def add_connection(connection_id: str, user_id: uuid.UUID) -> None:
    expires = {"N": str(int(time.time()) + CONNECTION_TTL_SECONDS)}
    _client().transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": _table(),
                    "Item": {
                        "pk": {"S": f"user#{user_id}"},
                        "sk": {"S": f"conn#{connection_id}"},
                        "expiresAt": expires,
                    },
                }
            },
            {
                "Put": {
                    "TableName": _table(),
                    "Item": {
                        "pk": {"S": f"conn#{connection_id}"},
                        "sk": {"S": "conn"},
                        "userId": {"S": str(user_id)},
                        "expiresAt": expires,
                    },
                }
            },
        ]
    )


def remove_connection(connection_id: str, user_id: uuid.UUID | None = None) -> None:
    if user_id is None:
        found = _client().get_item(TableName=_table(), Key={"pk": {"S": f"conn#{connection_id}"}, "sk": {"S": "conn"}})
        if "Item" not in found:
            return
        user_id = uuid.UUID(found["Item"]["userId"]["S"])
    _client().transact_write_items(
        TransactItems=[
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": {"pk": {"S": f"user#{user_id}"}, "sk": {"S": f"conn#{connection_id}"}},
                }
            },
            {"Delete": {"TableName": _table(), "Key": {"pk": {"S": f"conn#{connection_id}"}, "sk": {"S": "conn"}}}},
        ]
    )


def connections_of(user_id: uuid.UUID | str) -> list[str]:
    """The user's open connections (expired ones left out)."""
    now = int(time.time())
    items = _client().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :conn)",
        ExpressionAttributeValues={":pk": {"S": f"user#{user_id}"}, ":conn": {"S": "conn#"}},
    )["Items"]
    return [i["sk"]["S"].removeprefix("conn#") for i in items if int(i["expiresAt"]["N"]) > now]
