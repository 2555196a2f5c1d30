"""The envelope that travels on SQS, and the base of every job's message. Transport only: which job
types exist is declared by their messages (gbc.messages), what they do by gbc.jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

QueueName = Literal["jobs", "priority"]


class Message(BaseModel):
    """A job's typed body. A subclass names its job type and, if not the jobs queue, its queue."""

    # defer_build: each message type's validator is built when that type is first used, not at import.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    JOB_TYPE: ClassVar[str]
    QUEUE: ClassVar[QueueName] = "jobs"


class Job(BaseModel):
    """The envelope: {id, type, payload, createdAt}; `queue` routes it and is not part of the message."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any]
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC), alias="createdAt")
    queue: QueueName = Field("jobs", exclude=True)

    def to_message(self) -> str:
        return self.model_dump_json(by_alias=True)


def new_job(message: Message) -> Job:
    return Job(
        type=message.JOB_TYPE,
        payload=message.model_dump(mode="json", by_alias=True, exclude_none=True),
        queue=message.QUEUE,
    )
