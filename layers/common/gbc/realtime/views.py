from __future__ import annotations

from gbc.views import Timestamp, View


class RealtimeTicket(View):
    """Where to connect, with what: `{url}?ticket={ticket}`, once, before `expiresAt`."""

    url: str
    ticket: str
    expires_at: Timestamp
