"""GET /api/leaderboard: the top players by net profit over the day, the week or all time (UTC),
cached for ten minutes (everyone reads the same board)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from gbc.addresses import checksum
from gbc.cache import Keys, cache_query
from gbc.data.models import Game, GameResult, User
from gbc.data.transaction import unit_of_work
from gbc.leaderboard.views import Leaderboard, LeaderboardPlayer, Period

TOP = 20


def period_start(period: Period, now: datetime) -> datetime | None:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return day
    if period == "weekly":
        return day - timedelta(days=day.weekday())  # since Monday
    return None


def _load(period: Period) -> dict[str, Any]:
    now = datetime.now(UTC)
    since = period_start(period, now)
    profit = func.sum(Game.net_profit).label("net_profit")
    query = (
        select(
            User.wallet_address,
            User.username,
            profit,
            func.count().label("hands"),
            func.count(case((Game.result.in_([GameResult.WIN, GameResult.BLACKJACK]), 1))).label("wins"),
        )
        .join(User, User.id == Game.user_id)
        .where(Game.ended_at.is_not(None))
        .group_by(User.id)
        .order_by(profit.desc(), func.count().desc())
        .limit(TOP)
    )
    if since is not None:
        query = query.where(Game.ended_at >= since)
    with unit_of_work() as uow:
        rows = uow.session.execute(query).all()
    board = Leaderboard(
        period=period,
        since=since,
        generated_at=now,
        players=[
            LeaderboardPlayer(
                rank=rank,
                wallet_address=checksum(row.wallet_address),
                username=row.username,
                net_profit=Decimal(row.net_profit),
                hands=row.hands,
                wins=row.wins,
            )
            for rank, row in enumerate(rows, 1)
        ],
    )
    return board.to_json()


def leaderboard(period: Period) -> Leaderboard:
    """Cached in its JSON form for ten minutes (everyone reads the same board)."""
    return Leaderboard.model_validate(cache_query(*Keys.leaderboard(period), lambda: _load(period)))
