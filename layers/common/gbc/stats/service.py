"""A user's stats, aggregated from their ended games and stored in system_config `user_stats:{id}`.

Fields (the seed's nine): totalHands, totalBet, totalWin, netProfit, winRate (percent of hands won,
2 decimals), wins (WIN + BLACKJACK), losses (LOSE + SURRENDER), pushes, blackjacks. Money as strings.

Incremental and full updates agree by construction: the stored value carries a watermark (the last
ended game counted, by (ended_at, id)); an incremental update adds exactly the games after it, so a
game is counted once however often its job arrives, and a full recompute counts everything and moves
the watermark to the newest game. A user's games end one at a time (one active game per user), so
ended_at order is commit order. The totals and the watermark come from one statement (one snapshot),
so a game committed meanwhile is either in both or in neither.

A full recompute (nightly, manual) compares the stored value with the games up to its watermark and
reports a mismatch as a correction (log + `StatsCorrected` metric); games after the watermark are
lag, not drift.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert

from gbc.business_metrics import count_after_commit
from gbc.data.models import Game, GameResult, SystemConfig
from gbc.data.transaction import UnitOfWork
from gbc.events import StatsChanged
from gbc.money import money_str
from gbc.observability import logger, metrics

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


def _totals(where: Any = None) -> list[Any]:
    """The aggregate's columns; with `where`, over only the games it matches (FILTER)."""

    def only(agg: Any) -> Any:
        return agg if where is None else agg.filter(where)

    def count(*results: GameResult) -> Any:
        return only(func.count(case((Game.result.in_(results), 1))))

    return [
        only(func.count()),
        func.coalesce(only(func.sum(Game.bet_amount)), 0),
        func.coalesce(only(func.sum(Game.win_amount)), 0),
        func.coalesce(only(func.sum(Game.net_profit)), 0),
        count(GameResult.WIN, GameResult.BLACKJACK),
        count(GameResult.LOSE, GameResult.SURRENDER),
        count(GameResult.PUSH),
        count(GameResult.BLACKJACK),
    ]


def _after(mark: dict[str, str]) -> Any:
    at, game_id = datetime.fromisoformat(mark["endedAt"]), uuid.UUID(mark["gameId"])
    return or_(Game.ended_at > at, and_(Game.ended_at == at, Game.id > game_id))


def _delta(row: Sequence[Any]) -> dict[str, Any]:
    hands, bet, win, profit, wins, losses, pushes, blackjacks = row
    return {
        "totalHands": hands,
        "totalBet": Decimal(bet),
        "totalWin": Decimal(win),
        "netProfit": Decimal(profit),
        "wins": wins,
        "losses": losses,
        "pushes": pushes,
        "blackjacks": blackjacks,
    }


@dataclass(frozen=True)
class _Newest:
    ended_at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class _Aggregate:
    delta: dict[str, Any]  # totals over the games after the watermark (all of them without one)
    newest: _Newest | None  # (ended_at, id) of the newest game counted, or None
    upto: dict[str, Any] | None = None  # totals over the games up to `upto_mark` (drift check)


def _aggregate(
    uow: UnitOfWork, user_id: uuid.UUID, after: dict[str, str] | None, upto_mark: dict[str, str] | None = None
) -> _Aggregate:
    """Totals over the user's ended games after the watermark and the newest game counted, in ONE
    statement: under READ COMMITTED each statement has its own snapshot, and two statements let a game
    committed between them move the watermark past a game the totals never counted."""
    where = [Game.user_id == user_id, Game.ended_at.is_not(None)]
    if after:
        where.append(_after(after))
    columns = _totals()
    if upto_mark is not None:
        columns += _totals(~_after(upto_mark))
    totals = select(*columns).where(*where).subquery("totals")
    newest = (
        select(Game.ended_at, Game.id)
        .where(*where)
        .order_by(Game.ended_at.desc(), Game.id.desc())
        .limit(1)
        .subquery("newest")
    )
    row = uow.session.execute(
        select(totals, newest.c.ended_at, newest.c.id).select_from(totals.outerjoin(newest, true()))
    ).one()
    width = len(_totals())
    mark = row[-2:] if row[-1] is not None else None
    return _Aggregate(
        delta=_delta(row[:width]),
        newest=_Newest(*mark) if mark else None,
        upto=_delta(row[width : 2 * width]) if upto_mark is not None else None,
    )


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


def _count_new_rounds(uow: UnitOfWork, new: dict[str, Any]) -> None:
    """The games this update counts for the first time (those after the previous watermark): the
    business figures RoundsPlayed, GbcWagered and GbcPaid (what went back to the players), once."""
    count_after_commit(uow, RoundsPlayed=new["totalHands"], GbcWagered=new["totalBet"], GbcPaid=new["totalWin"])


def _minus(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    return {name: total[name] - part[name] for name in total}


def aggregate_user_stats(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    """The full aggregate, without storing it (a user the stats job has not reached yet)."""
    found = _aggregate(uow, user_id, None)
    return public(_combine(EMPTY, found.delta, found.newest, None))


def _store(uow: UnitOfWork, user_id: uuid.UUID, stats: dict[str, Any], *, corrected: bool = False) -> None:
    statement = insert(SystemConfig).values(key=stats_key(user_id), value=stats, description="precomputed user stats")
    uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=[SystemConfig.key], set_={"value": statement.excluded.value, "updated_at": func.now()}
        )
    )
    # totalHands orders the updates of the cached stats; a repair may lower it.
    view = public(stats)
    uow.record(StatsChanged(user_id=user_id, view=view, version=view["totalHands"], repaired=corrected))


def _locked_stats(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any] | None:
    row = uow.session.scalar(select(SystemConfig).where(SystemConfig.key == stats_key(user_id)).with_for_update())
    return dict(row.value) if row else None


def _same(stored: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Equal as numbers (a stored "10.0" is 10), field by field, winRate included."""
    try:
        return all(Decimal(str(stored[field])) == Decimal(str(expected[field])) for field in (*EMPTY, "winRate"))
    except (KeyError, ArithmeticError, ValueError):
        return False  # a field missing or not a number is drift too


@dataclass(frozen=True)
class Recomputed:
    stats: dict[str, Any]
    # The stored value disagreed with the games it claims to count (up to its watermark): drift,
    # not lag. Games ended after the watermark whose job has not run yet are not a correction.
    corrected: bool


def full_recompute(uow: UnitOfWork, user_id: uuid.UUID, *, emit_metric: bool = True) -> Recomputed:
    """Count every ended game again, store it, and say whether the stored value had drifted."""
    stored = _locked_stats(uow, user_id)  # also serializes with incremental updates of the same user
    mark = stored.get(WATERMARK) if stored else None
    found = _aggregate(uow, user_id, None, upto_mark=mark)
    stats = _combine(EMPTY, found.delta, found.newest, None)
    corrected = False
    if stored is not None:
        upto = found.upto if found.upto is not None else _delta((0,) * 8)
        corrected = not _same(stored, _combine(EMPTY, upto, None, None))
    if emit_metric:  # games after the stored watermark (all without one) are counted here first
        _count_new_rounds(uow, _minus(found.delta, found.upto) if mark and found.upto is not None else found.delta)
    if corrected:
        logger.warning(
            f"[Stats] Corrected drifted stats for user {user_id}",
            extra={"user_id": str(user_id), "stored": public(stored or {}), "recomputed": public(stats)},
        )
        if emit_metric:
            metrics.add_metric(name="StatsCorrected", unit=MetricUnit.Count, value=1)
    _store(uow, user_id, stats, corrected=corrected)
    return Recomputed(public(stats), corrected)


def recompute_user_stats(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    """Full recompute over every ended game (nightly, manual); repairs and reports drift."""
    return full_recompute(uow, user_id).stats


def apply_new_games(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    """Incremental: add the games ended since the watermark (none twice, however often called)."""
    current = _locked_stats(uow, user_id)
    if current is None:
        return recompute_user_stats(uow, user_id)
    mark = current.get(WATERMARK)
    found = _aggregate(uow, user_id, mark)
    if found.delta["totalHands"] == 0:
        return public(current)
    stats = _combine(current, found.delta, found.newest, mark)
    _store(uow, user_id, stats)
    _count_new_rounds(uow, found.delta)
    return public(stats)
