"""Delivering a push: to each of the user's connections through API Gateway's @connections
management API; a connection that is gone (GoneException, 410) is forgotten."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from gbc.observability import logger
from gbc.realtime import store
from gbc.settings import get_settings


@lru_cache(maxsize=1)
def _management() -> Any:
    settings = get_settings()
    if not settings.realtime_management_url:
        raise RuntimeError("REALTIME_MANAGEMENT_URL is not configured")
    return boto3.client(
        "apigatewaymanagementapi",
        region_name=settings.aws_region,
        endpoint_url=settings.realtime_management_url,
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}),
    )


def deliver(push: dict[str, Any]) -> int:
    """Send `{type, data, at}` to the user's connections; returns how many got it."""
    body = json.dumps({"type": push["type"], "data": push["data"], "at": push["at"]}).encode()
    sent = 0
    for connection_id in store.connections_of(push["userId"]):
        try:
            _management().post_to_connection(ConnectionId=connection_id, Data=body)
            sent += 1
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "GoneException":
                raise
            logger.info("[Realtime] connection gone, forgotten", extra={"connection": connection_id})
            store.remove_connection(connection_id)
    return sent
