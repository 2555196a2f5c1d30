"""What GET /api/leaderboard answers: the top players of a period, ranked by net profit."""

from __future__ import annotations

from typing import Literal

from gbc.views import Money, Timestamp, View

Period = Literal["daily", "weekly", "all"]


class LeaderboardPlayer(View):
    rank: int
    wallet_address: str
    username: str | None
    net_profit: Money
    hands: int
    wins: int  # WIN + BLACKJACK


class Leaderboard(View):
    period: Period
    since: Timestamp | None  # the period's start (UTC midnight, Monday for weekly); None for all time
    generated_at: Timestamp
    players: list[LeaderboardPlayer]
