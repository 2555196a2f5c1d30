"""The SQS worker: one record at a time, partial batch responses (ReportBatchItemFailures)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.observability import logger, metrics, tracer
from gbc.queue.handlers import process_job
from gbc.queue.jobs import Job

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    job = Job.model_validate_json(record.body)
    start = time.perf_counter()
    process_job(job)
    elapsed_ms = (time.perf_counter() - start) * 1000
    logger.info(f"[Queue] Job {job.id} completed in {elapsed_ms:.0f}ms", extra={"job_type": job.type})
    metrics.add_metric(name="JobsProcessed", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
