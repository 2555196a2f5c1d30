"""GET /api/history and /api/stats: ended games newest first, with the precomputed stats."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from gbc.cache import Keys, Query, cache_queries
from gbc.data.models import Game, GameResult, SystemConfig
from gbc.data.transaction import unit_of_work
from gbc.history.views import GamesPage, GameSummary, HistoryPage
from gbc.pagination import HISTORY_ORDER, fetch_page, validate_cursor
from gbc.stats.service import aggregate_user_stats, public, stats_key
from gbc.stats.views import UserStats

# The filter LOSE covers every way of losing the stake.
FILTERS = {
    "WIN": [GameResult.WIN],
    "LOSE": [GameResult.LOSE, GameResult.SURRENDER],
    "PUSH": [GameResult.PUSH],
    "BLACKJACK": [GameResult.BLACKJACK],
}


def _load_stats(user_id: uuid.UUID) -> dict[str, Any]:
    with unit_of_work() as uow:
        row = uow.session.get(SystemConfig, stats_key(user_id))
        stats = public(row.value) if row else aggregate_user_stats(uow, user_id)
    return UserStats.model_validate(stats).to_json()


def _stats_query(user_id: uuid.UUID) -> Query[dict[str, Any]]:
    """The precomputed stats (cached, written through by the stats job with totalHands as version);
    computed on the spot for a user the stats job has not reached."""
    return Query(*Keys.user_stats(user_id), lambda: _load_stats(user_id), user_id, version=lambda s: s["totalHands"])


def user_stats(user_id: uuid.UUID) -> UserStats:
    return UserStats.model_validate(cache_queries(_stats_query(user_id))[0])


def history_page(user_id: uuid.UUID, limit: int, cursor: str | None, result_filter: str) -> HistoryPage:
    """The page and the stats are two cache entries looked up in one round trip: a game's end updates
    the first pages in place, the stats job the stats (gbc.cache.sync)."""
    validate_cursor(HISTORY_ORDER, cursor)
    page, stats = cache_queries(
        Query(
            *Keys.user_history(user_id, cursor, result_filter, limit),
            lambda: _load_history(user_id, limit, cursor, result_filter),
            user_id,
            first_page=cursor is None,
            deep=cursor is not None,
        ),
        _stats_query(user_id),
    )
    return HistoryPage.model_validate({**page, "stats": stats})


def game_summary(game: Game) -> dict[str, Any]:
    """The ended game as the history lists it, in its JSON form (what GameEnded carries to the
    cached first pages)."""
    return GameSummary.from_row(game).to_json()


def filters_of(result: GameResult) -> frozenset[str]:
    """The history filters a game with this result shows under."""
    return frozenset({"all"} | {name for name, results in FILTERS.items() if result in results})


def _load_history(user_id: uuid.UUID, limit: int, cursor: str | None, result_filter: str) -> dict[str, Any]:
    query = select(Game).where(Game.user_id == user_id, Game.ended_at.is_not(None))
    if result_filter != "all":
        query = query.where(Game.result.in_(FILTERS[result_filter]))
    games, next_cursor = fetch_page(query, cursor, HISTORY_ORDER, limit)
    return GamesPage(games=[GameSummary.from_row(g) for g in games], next_cursor=next_cursor).to_json()
