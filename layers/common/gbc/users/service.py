"""Profile updates: one transaction that changes the user and enqueues its audit entry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gbc.data.models import User
from gbc.data.transaction import unit_of_work
from gbc.errors import Conflict, NotFound
from gbc.events import UserChanged
from gbc.messages import AuditLogPayload
from gbc.queue.outbox import enqueue_job
from gbc.text import storable_text
from gbc.users.views import UserProfile


@dataclass(frozen=True)
class RequestMeta:
    """Who sent a request, for the audit log. Headers are client input: made storable and cut to the
    audit columns' lengths here, so no header can fail the audit job later."""

    ip_address: str | None = None
    user_agent: str | None = None

    def __post_init__(self) -> None:
        if self.ip_address is not None:
            object.__setattr__(self, "ip_address", storable_text(self.ip_address, 45))
        if self.user_agent is not None:
            object.__setattr__(self, "user_agent", storable_text(self.user_agent, 512))


def update_user(user_id: uuid.UUID, changes: dict[str, Any], meta: RequestMeta) -> UserProfile:
    """Apply validated changes ({username?, email?, settings?}; settings merged into the stored ones)."""
    changes = dict(changes)
    try:
        with unit_of_work() as uow:
            user = uow.session.scalar(select(User).where(User.id == user_id).with_for_update())
            if user is None:
                raise NotFound("user not found")
            old = {key: getattr(user, key) for key in changes}
            if "settings" in changes:
                changes["settings"] = {**user.settings, **changes["settings"]}
            for key, value in changes.items():
                setattr(user, key, value)
            uow.session.flush()  # surfaces a username/email clash as IntegrityError here
            enqueue_job(
                AuditLogPayload(
                    userId=user_id,
                    action="user.update",
                    resource="user",
                    resourceId=str(user_id),
                    oldValues=old,
                    newValues=changes,
                    ipAddress=meta.ip_address,
                    userAgent=meta.user_agent,
                ),
                uow,
            )
            view = UserProfile.from_row(user)
            uow.record(UserChanged(user_id=user_id, renamed="username" in changes))
    except IntegrityError as exc:
        field = "username" if "username" in str(exc.orig) else "email"
        raise Conflict(f"{field} is already taken", field=field) from exc
    return view
