"""A game of blackjack as stored: the engine's round as JSON beside the columns the history, the stats and the
leaderboard query, and the moves it was played with (enough to replay it from its shoe)."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import ZERO, Base, _created_at, _pg_enum, _uuid_pk
from gbc.data.models.enums import GameResult, GameState


class Game(Base):
    __tablename__ = "games"
    __table_args__ = (
        CheckConstraint("bet_amount > 0", name="bet_positive"),
        CheckConstraint("insurance_bet >= 0", name="insurance_non_negative"),
        # The history query: a user's ended games newest first, optionally by result.
        Index("ix_games_history", "user_id", "ended_at", "id", postgresql_where=text("ended_at IS NOT NULL")),
        Index(
            "ix_games_history_result",
            "user_id",
            "result",
            "ended_at",
            "id",
            postgresql_where=text("ended_at IS NOT NULL"),
        ),
        # The leaderboard: every game ended in a period.
        Index("ix_games_ended_at", "ended_at", postgresql_where=text("ended_at IS NOT NULL")),
        # At most one unfinished game per user.
        Index("uq_games_active_user", "user_id", unique=True, postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    state: Mapped[GameState] = mapped_column(_pg_enum(GameState, "game_state"))
    bet_amount: Mapped[Decimal]
    hands: Mapped[dict[str, Any]]
    dealer_hand: Mapped[dict[str, Any]]
    insurance_bet: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    result: Mapped[GameResult | None] = mapped_column(_pg_enum(GameResult, "game_result"))
    win_amount: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    net_profit: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    fairness: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = _created_at()
    ended_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(server_default=text("1"), default=1)

    __mapper_args__ = {"version_id_col": version}


class GameMove(Base):
    __tablename__ = "game_moves"
    __table_args__ = (Index("ix_game_moves_game", "game_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    game_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    move: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = _created_at()
