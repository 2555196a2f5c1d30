"""What the sign-in routes answer: a nonce with the message to sign, then a session."""

from __future__ import annotations

from gbc.users.views import UserProfile
from gbc.views import Timestamp, View


class NonceGrant(View):
    """A single-use nonce bound to the address, and the exact EIP-4361 message to sign."""

    nonce: str
    message: str
    expires_at: Timestamp


class SignedIn(View):
    token: str  # the session JWT (Authorization: Bearer ...)
    user: UserProfile
    new_user: bool  # created by this sign-in (with the sign-up bonus)
