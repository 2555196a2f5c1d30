"""A user as the API shows them (PATCH /api/user, and inside a sign-in's answer)."""

from __future__ import annotations

import uuid
from typing import Any

from gbc.addresses import checksum
from gbc.data.models import User
from gbc.views import Money, Timestamp, View


class UserProfile(View):
    id: uuid.UUID
    wallet_address: str
    username: str | None
    email: str | None
    settings: dict[str, Any]  # the client's preferences (gbc.api.schemas.UserSettings), as stored
    balance: Money
    created_at: Timestamp

    @classmethod
    def from_row(cls, user: User) -> UserProfile:
        return cls(
            id=user.id,
            wallet_address=checksum(user.wallet_address),
            username=user.username,
            email=user.email,
            settings=user.settings,
            balance=user.balance,
            created_at=user.created_at,
        )
