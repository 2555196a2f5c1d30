"""What a player sees of a round (gbc.game.views): the hole card hidden until the end, the
outcome once there is one, money as decimal strings; the engine itself has no view."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gbc.blackjack import Action, Round, apply, deal
from gbc.data.models import Game, GameState
from gbc.game.views import GameView
from tests.unit.test_engine import BET, play, shoe


def view_of(round_: Round) -> dict[str, Any]:
    """The round's part of a game's JSON view (a transient game row around it)."""
    seeds = {"serverSeed": "00" * 32, "serverSeedHash": "ab" * 32, "clientSeed": "c", "nonce": 0}
    game = Game(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        bet_amount=round_.bet,
        fairness=seeds,
        state=GameState.PLAYER_TURN,
        win_amount=Decimal(0),
        net_profit=Decimal(0),
        created_at=datetime.now(UTC),
    )
    view = GameView.of(game, round_).to_json()
    assert "serverSeed" not in view["fairness"], "revealed only once the game row has ended"
    return view


def test_the_view_hides_the_hole_card_until_the_end():
    s = shoe("10S 9H 6D KC 3S")
    round_ = deal(BET, s)
    view = view_of(round_)
    assert view["dealer"] == {"cards": ["9H", "hidden"], "total": 9}
    assert "KC" not in json.dumps(view)
    assert view["phase"] == "PLAYER_TURN"
    assert view["activeHand"] == 0
    assert view["hands"] == [
        {"cards": ["10S", "6D"], "total": 16, "soft": False, "bet": "10", "doubled": False, "status": "playing"}
    ]
    assert view["legalActions"] == ["hit", "stand", "double_down", "surrender"]
    assert view["outcome"] is None

    ended = view_of(apply(round_, Action.STAND, s))
    assert ended["dealer"] == {"cards": ["9H", "KC"], "total": 19}
    assert ended["hands"][0]["status"] == "stood"
    assert ended["activeHand"] is None
    assert ended["legalActions"] == []
    assert ended["outcome"] == {
        "result": "LOSE",
        "winAmount": "0",
        "totalWagered": "10",
        "netProfit": "-10",
        "insurancePayout": "0",
        "hands": [{"result": "LOSE", "payout": "0"}],
    }
    json.dumps(ended)


def test_the_view_in_the_insurance_phase():
    view = view_of(play("10S AH 6D KC")[0])
    assert view["dealer"] == {"cards": ["AH", "hidden"], "total": 11}
    assert "KC" not in json.dumps(view)
    assert view["phase"] == "INSURANCE"
    assert "insurance" in view["legalActions"]
