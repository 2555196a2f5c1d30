"""The SQS worker: one record at a time, partial batch responses (ReportBatchItemFailures).

A record that fails gets its visibility timeout set from its receive count (exponential backoff with
jitter) before it goes back to the queue; after maxReceiveCount (8) receives the redrive policy moves it to the DLQ.
"""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Off while the module's objects are built, then they are frozen (see api_app: ~0.1 s of a cold start).
gc.disable()

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from gbc.bootstrap import bootstrap
from gbc.jobs.runner import run_job
from gbc.observability import logger, metrics
from gbc.queue import retention
from gbc.queue.backoff import visibility_delay
from gbc.queue.jobs import Job
from gbc.queue.sqs import queue_url_for_arn, sqs_client
from gbc.settings import get_settings

# The cache follows what the jobs commit; a job's own jobs fall back to direct processing (gbc.bootstrap).
bootstrap()


class BackoffBatchProcessor(BatchProcessor):
    """Powertools' BatchProcessor, plus: a failed record is retried after an exponential delay."""

    def failure_handler(self, record: SQSRecord, exception: Any) -> Any:
        attempt = int(record.attributes.approximate_receive_count or 1)
        settings = get_settings()
        delay = visibility_delay(attempt, settings.job_backoff_base_seconds, settings.job_backoff_cap_seconds)
        try:
            sqs_client().change_message_visibility(
                QueueUrl=queue_url_for_arn(record.event_source_arn),
                ReceiptHandle=record.receipt_handle,
                VisibilityTimeout=delay,
            )
        except Exception as exc:  # the queue's own visibility timeout still brings it back
            logger.warning("[Queue] could not set the retry delay", extra={"error": repr(exc)})
        logger.warning(
            f"[Queue] Message {record.message_id} failed (receive {attempt}), retry in {delay}s",
            extra={"error": repr(exception[1]), "attempt": attempt, "retry_in_s": delay},
        )
        return super().failure_handler(record, exception)


# A batch whose every record failed is still answered with its item failures, not an exception:
# the records already carry their retry delays, and a function error would only add noise.
processor = BackoffBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    attempt = int(record.attributes.approximate_receive_count or 1)
    sent_ms = int(record.attributes.sent_timestamp or 0)
    if sent_ms:
        metrics.add_metric(name="MessageAge", unit=MetricUnit.Milliseconds, value=time.time() * 1000 - sent_ms)
    try:
        job = Job.model_validate_json(record.body)
    except ValidationError as exc:
        retention.record_failed(None, None, exc, attempt)
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
        raise
    run_job(job, attempt)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
