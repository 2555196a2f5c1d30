"""What GET /api/history answers: a page of ended games, newest first, with the user's stats."""

from __future__ import annotations

import uuid

from gbc.data.models import Game, GameResult
from gbc.stats.views import UserStats
from gbc.views import Money, Timestamp, View


class GameSummary(View):
    """A game as the history lists it (and as its end writes it into the cached first pages)."""

    id: uuid.UUID
    result: GameResult | None
    bet_amount: Money
    win_amount: Money
    net_profit: Money
    created_at: Timestamp
    ended_at: Timestamp | None

    @classmethod
    def from_row(cls, game: Game) -> GameSummary:
        return cls(
            id=game.id,
            result=game.result,
            bet_amount=game.bet_amount,
            win_amount=game.win_amount,
            net_profit=game.net_profit,
            created_at=game.created_at,
            ended_at=game.ended_at,
        )


class GamesPage(View):
    """One page of ended games (what the cache keeps per page and filter)."""

    games: list[GameSummary]
    next_cursor: str | None


class HistoryPage(GamesPage):
    stats: UserStats
