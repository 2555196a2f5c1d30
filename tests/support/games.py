"""Ended games written straight into the table, for stats tests (the engine comes with the game issue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from gbc.data.models import Game, GameResult, GameState
from gbc.data.transaction import unit_of_work

PAYOUT = {
    GameResult.WIN: Decimal(2),
    GameResult.BLACKJACK: Decimal("2.5"),
    GameResult.PUSH: Decimal(1),
    GameResult.LOSE: Decimal(0),
    GameResult.SURRENDER: Decimal("0.5"),
}


def add_ended_games(user_id: uuid.UUID, results: list[GameResult], bet: Decimal = Decimal(10)) -> None:
    now = datetime.now(UTC)
    with unit_of_work() as uow:
        for i, result in enumerate(results):
            win = bet * PAYOUT[result]
            uow.session.add(
                Game(
                    user_id=user_id,
                    state=GameState.ENDED,
                    bet_amount=bet,
                    hands={"hands": []},
                    dealer_hand={"cards": []},
                    result=result,
                    win_amount=win,
                    net_profit=win - bet,
                    fairness={},
                    # The first result is the newest game; every call's games end after earlier calls'.
                    created_at=now - timedelta(minutes=1),
                    ended_at=now + timedelta(microseconds=len(results) - i),
                )
            )
