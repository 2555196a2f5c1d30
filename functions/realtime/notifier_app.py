"""The notifier: pushes from the events queue to the players' WebSocket connections (gbc.realtime).
Outside the VPC (it calls the @connections API and the realtime table); one record at a time, and a
record whose delivery failed (not a gone connection: that is forgotten) is retried by SQS."""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Off while the module's objects are built, then they are frozen (see api_app: ~0.1 s of a cold start).
gc.disable()

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.observability import logger
from gbc.realtime.notifier import deliver

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    deliver(json.loads(record.body))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
