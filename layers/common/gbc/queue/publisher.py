"""Getting jobs to a worker: SendMessageBatch (10 a call, per queue), and when SQS cannot be reached,
the seed's fallback: process the job right here, with the same idempotency as the worker."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from gbc.observability import logger, metrics
from gbc.queue.jobs import Job
from gbc.queue.sqs import queue_url, sqs_client

SQS_BATCH = 10

# Who processes a job when SQS cannot be reached: installed by the application (gbc.jobs), which
# knows the handlers; the queue only moves jobs. Without one, jobs wait in the outbox for the sweep.
_direct_processor: Callable[[Job], object] | None = None


def set_direct_processor(processor: Callable[[Job], object] | None) -> None:
    global _direct_processor
    _direct_processor = processor


def publish(jobs: Sequence[Job]) -> set[uuid.UUID]:
    """Send jobs to their queues; returns the ids SQS accepted. Raises if SQS cannot be reached."""
    sent: set[uuid.UUID] = set()
    by_queue: dict[str, list[Job]] = {}
    for job in jobs:
        by_queue.setdefault(job.queue, []).append(job)
    client = sqs_client()
    for queue, queued in by_queue.items():
        url = queue_url(queue)  # type: ignore[arg-type]
        for start in range(0, len(queued), SQS_BATCH):
            batch = queued[start : start + SQS_BATCH]
            response = client.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "MessageBody": job.to_message()} for i, job in enumerate(batch)],
            )
            sent.update(batch[int(ok["Id"])].id for ok in response.get("Successful", []))
            for failed in response.get("Failed", []):
                logger.warning(
                    "[Queue] SQS refused a job", extra={"job_id": str(batch[int(failed["Id"])].id), **failed}
                )
    return sent


def deliver(jobs: Sequence[Job]) -> set[uuid.UUID]:
    """Send jobs, or process them directly if SQS is unreachable. Returns the ids taken care of;
    the others (SQS refused them, or direct processing failed) are for the outbox sweep to retry."""
    if not jobs:
        return set()
    try:
        return publish(jobs)
    except (BotoCoreError, ClientError) as exc:
        logger.warning(
            "[Queue] SQS unavailable, processing jobs directly", extra={"jobs": len(jobs), "error": repr(exc)}
        )
    if _direct_processor is None:
        logger.error("[Queue] no direct processor installed; the outbox keeps the jobs for the sweep")
        return set()
    done: set[uuid.UUID] = set()
    for job in jobs:
        try:
            _direct_processor(job)
            done.add(job.id)
        except Exception:
            logger.exception(
                "[Queue] direct processing failed; the outbox keeps the job", extra={"job_id": str(job.id)}
            )
    metrics.add_metric(name="JobsProcessedDirectly", unit=MetricUnit.Count, value=len(done))
    return done
