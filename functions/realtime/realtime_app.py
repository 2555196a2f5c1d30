"""The WebSocket API's routes: `$connect` with a single-use ticket (POST /api/realtime/ticket),
`$disconnect`, and `ping` (answers pong). Outside the VPC: it needs only the realtime table."""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Off while the module's objects are built, then they are frozen (see api_app: ~0.1 s of a cold start).
gc.disable()

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.observability import logger
from gbc.realtime import store


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    route, connection_id = request.get("routeKey"), str(request.get("connectionId") or "")
    if route == "$connect":
        ticket = (event.get("queryStringParameters") or {}).get("ticket") or ""
        user_id = store.redeem_ticket(ticket)
        if user_id is None:
            logger.info("[Realtime] connection refused: ticket unknown, used or expired")
            return {"statusCode": 401, "body": json.dumps({"error": "ticket unknown, used or expired"})}
        store.add_connection(connection_id, user_id)
        logger.info("[Realtime] connected", extra={"connection": connection_id, "user": str(user_id)})
        return {"statusCode": 200}
    if route == "$disconnect":
        store.remove_connection(connection_id)
        return {"statusCode": 200}
    if route == "ping":
        return {
            "statusCode": 200,
            "body": json.dumps({"type": "pong", "data": {}, "at": datetime.now(UTC).isoformat()}),
        }
    return {"statusCode": 400, "body": json.dumps({"error": 'unknown action: send {"action": "ping"}'})}


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
