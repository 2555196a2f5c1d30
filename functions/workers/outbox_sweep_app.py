"""Scheduled: re-send outbox jobs that a crash or an SQS outage left behind."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.observability import logger
from gbc.queue.outbox import sweep_outbox


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"sent": sweep_outbox()}
