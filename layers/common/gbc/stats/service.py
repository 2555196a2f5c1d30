"""A user's stats, aggregated from their ended games and stored in system_config.

Fields (the seed's nine): totalHands, totalBet, totalWin, netProfit, winRate (percent of hands won,
2 decimals), wins (WIN + BLACKJACK), losses (LOSE + SURRENDER), pushes, blackjacks. Money as strings.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert

from gbc.cache.query_cache import invalidate_after_commit
from gbc.data.models import Game, GameResult, SystemConfig
from gbc.data.transaction import UnitOfWork
from gbc.money import money_str


def stats_key(user_id: uuid.UUID) -> str:
    return f"user_stats:{user_id}"


def _count(*results: GameResult) -> Any:
    return func.count(case((Game.result.in_(results), 1)))


def aggregate_user_stats(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    row = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Game.bet_amount), 0),
            func.coalesce(func.sum(Game.win_amount), 0),
            func.coalesce(func.sum(Game.net_profit), 0),
            _count(GameResult.WIN, GameResult.BLACKJACK),
            _count(GameResult.LOSE, GameResult.SURRENDER),
            _count(GameResult.PUSH),
            _count(GameResult.BLACKJACK),
        ).where(Game.user_id == user_id, Game.ended_at.is_not(None))
    ).one()
    hands, bet, win, profit, wins, losses, pushes, blackjacks = row
    rate = (Decimal(wins) * 100 / hands).quantize(Decimal("0.01"), ROUND_HALF_UP) if hands else Decimal(0)
    return {
        "totalHands": hands,
        "totalBet": money_str(Decimal(bet)),
        "totalWin": money_str(Decimal(win)),
        "netProfit": money_str(Decimal(profit)),
        "winRate": float(rate),
        "wins": wins,
        "losses": losses,
        "pushes": pushes,
        "blackjacks": blackjacks,
    }


def recompute_user_stats(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    """Full recompute: aggregate and upsert into system_config."""
    stats = aggregate_user_stats(uow, user_id)
    statement = insert(SystemConfig).values(key=stats_key(user_id), value=stats, description="precomputed user stats")
    uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=[SystemConfig.key], set_={"value": statement.excluded.value, "updated_at": func.now()}
        )
    )
    invalidate_after_commit(uow, user_id)
    return stats
