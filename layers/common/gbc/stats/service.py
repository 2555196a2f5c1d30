"""A user's stats, aggregated from their ended games and stored in system_config `user_stats:{id}`.

Fields (the seed's nine): totalHands, totalBet, totalWin, netProfit, winRate (percent of hands won,
2 decimals), wins (WIN + BLACKJACK), losses (LOSE + SURRENDER), pushes, blackjacks. Money as strings.

Incremental and full updates agree by construction: the stored value carries a watermark (the last
ended game counted, by (ended_at, id)); an incremental update adds exactly the games after it, so a
game is counted once however often its job arrives, and a full recompute counts everything and moves
the watermark to the newest game. A user's games end one at a time (one active game per user), so
ended_at order is commit order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from gbc.cache.query_cache import Keys, put_versioned
from gbc.data.models import Game, GameResult, SystemConfig
from gbc.data.transaction import UnitOfWork
from gbc.money import money_str

WATERMARK = "_watermark"
EMPTY = {
    "totalHands": 0,
    "totalBet": "0",
    "totalWin": "0",
    "netProfit": "0",
    "wins": 0,
    "losses": 0,
    "pushes": 0,
    "blackjacks": 0,
}


def stats_key(user_id: uuid.UUID) -> str:
    return f"user_stats:{user_id}"


def public(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if k != WATERMARK}


def _count(*results: GameResult) -> Any:
    return func.count(case((Game.result.in_(results), 1)))


def _aggregate(uow: UnitOfWork, user_id: uuid.UUID, after: dict[str, str] | None) -> tuple[dict[str, Any], Any]:
    """Totals over the user's ended games after the watermark, and the newest game counted."""
    where = [Game.user_id == user_id, Game.ended_at.is_not(None)]
    if after:
        at, game_id = datetime.fromisoformat(after["endedAt"]), uuid.UUID(after["gameId"])
        where.append(or_(Game.ended_at > at, and_(Game.ended_at == at, Game.id > game_id)))
    totals = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Game.bet_amount), 0),
            func.coalesce(func.sum(Game.win_amount), 0),
            func.coalesce(func.sum(Game.net_profit), 0),
            _count(GameResult.WIN, GameResult.BLACKJACK),
            _count(GameResult.LOSE, GameResult.SURRENDER),
            _count(GameResult.PUSH),
            _count(GameResult.BLACKJACK),
        ).where(*where)
    ).one()
    newest = uow.session.execute(
        select(Game.ended_at, Game.id).where(*where).order_by(Game.ended_at.desc(), Game.id.desc()).limit(1)
    ).first()
    hands, bet, win, profit, wins, losses, pushes, blackjacks = totals
    delta = {
        "totalHands": hands,
        "totalBet": Decimal(bet),
        "totalWin": Decimal(win),
        "netProfit": Decimal(profit),
        "wins": wins,
        "losses": losses,
        "pushes": pushes,
        "blackjacks": blackjacks,
    }
    return delta, newest


def _combine(base: dict[str, Any], delta: dict[str, Any], newest: Any, previous_mark: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for field in ("totalHands", "wins", "losses", "pushes", "blackjacks"):
        stats[field] = int(base.get(field, 0)) + int(delta[field])
    for field in ("totalBet", "totalWin", "netProfit"):
        stats[field] = money_str(Decimal(str(base.get(field, "0"))) + delta[field])
    hands = stats["totalHands"]
    rate = (Decimal(stats["wins"]) * 100 / hands).quantize(Decimal("0.01"), ROUND_HALF_UP) if hands else Decimal(0)
    stats["winRate"] = float(rate)
    mark = {"endedAt": newest.ended_at.isoformat(), "gameId": str(newest.id)} if newest else previous_mark
    if mark:
        stats[WATERMARK] = mark
    return stats


def aggregate_user_stats(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    """The full aggregate, without storing it (a user the stats job has not reached yet)."""
    delta, newest = _aggregate(uow, user_id, None)
    return public(_combine(EMPTY, delta, newest, None))


def _store(uow: UnitOfWork, user_id: uuid.UUID, stats: dict[str, Any]) -> None:
    statement = insert(SystemConfig).values(key=stats_key(user_id), value=stats, description="precomputed user stats")
    uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=[SystemConfig.key], set_={"value": statement.excluded.value, "updated_at": func.now()}
        )
    )
    # Write the new stats through after commit; totalHands orders them (an older update never wins).
    view = public(stats)
    uow.after_commit(lambda: put_versioned(*Keys.user_stats(user_id), user_id, view, view["totalHands"]))


def _locked_stats(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any] | None:
    row = uow.session.scalar(select(SystemConfig).where(SystemConfig.key == stats_key(user_id)).with_for_update())
    return dict(row.value) if row else None


def recompute_user_stats(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    """Full recompute over every ended game."""
    _locked_stats(uow, user_id)  # serialize with incremental updates of the same user
    delta, newest = _aggregate(uow, user_id, None)
    stats = _combine(EMPTY, delta, newest, None)
    _store(uow, user_id, stats)
    return public(stats)


def apply_new_games(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    """Incremental: add the games ended since the watermark (none twice, however often called)."""
    current = _locked_stats(uow, user_id)
    if current is None:
        return recompute_user_stats(uow, user_id)
    mark = current.get(WATERMARK)
    delta, newest = _aggregate(uow, user_id, mark)
    if delta["totalHands"] == 0:
        return public(current)
    stats = _combine(current, delta, newest, mark)
    _store(uow, user_id, stats)
    return public(stats)
