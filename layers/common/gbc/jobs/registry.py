"""The job registry: each job type's message bound to the one handler that applies it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from gbc.data.transaction import UnitOfWork
from gbc.queue.jobs import Job, Message

M = TypeVar("M", bound=Message)
Handler = Callable[[UnitOfWork, Any], object]


class UnknownJobType(LookupError):
    pass


@dataclass(frozen=True)
class JobSpec:
    message: type[Message]
    handler: Handler

    def decode(self, job: Job) -> Message:
        """The job's typed message, validated before any database work."""
        return self.message.model_validate(job.payload)


REGISTRY: dict[str, JobSpec] = {}


def handles(message: type[M]) -> Callable[[Callable[[UnitOfWork, M], object]], Callable[[UnitOfWork, M], object]]:
    """Declare `fn(uow, message)` as the handler of the message's job type (once per type)."""

    def register(fn: Callable[[UnitOfWork, M], object]) -> Callable[[UnitOfWork, M], object]:
        if message.JOB_TYPE in REGISTRY:
            raise ValueError(f"job type {message.JOB_TYPE} already has a handler")
        REGISTRY[message.JOB_TYPE] = JobSpec(message, fn)
        return fn

    return register


def spec_for(job: Job) -> JobSpec:
    try:
        return REGISTRY[job.type]
    except KeyError:
        raise UnknownJobType(f"no handler for job type {job.type!r}") from None
