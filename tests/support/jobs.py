"""Messages for tests that pick a job type by name."""

from __future__ import annotations

from gbc.queue.jobs import Message


def message_of(job_type: str, payload: Message) -> Message:
    """The same fields as the message of `job_type` (e.g. a ChainEventPayload as a deposit)."""
    import gbc.jobs.handlers  # noqa: F401 - fills the registry
    from gbc.jobs.registry import REGISTRY

    return REGISTRY[job_type].message.model_validate(payload.model_dump(by_alias=True))
