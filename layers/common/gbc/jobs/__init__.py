"""Jobs at the application level: each type's message (gbc.messages) bound to its handler
(gbc.jobs.handlers, through gbc.jobs.registry), run by gbc.jobs.runner for the worker and for the
direct-processing fallback. The queue package only moves jobs; it imports none of this."""

from __future__ import annotations

from gbc.queue.jobs import Job
from gbc.queue.publisher import set_direct_processor


def _run_job(job: Job) -> object:
    from gbc.jobs.runner import run_job  # the handlers import the domain: loaded only when needed

    return run_job(job)


def install_direct_processing() -> None:
    """The seed's fallback, wired by each function that enqueues: when SQS cannot be reached, a job is
    processed where it was enqueued, with the worker's exactly-once handling."""
    set_direct_processor(_run_job)
