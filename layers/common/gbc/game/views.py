"""What the game routes answer: a game (its round as the player may see it: the hole card hidden
until the end, the server seed revealed only then), a step's answer with the new balance, and a
fairness check. The engine (gbc.blackjack) knows nothing of this."""

import uuid
from typing import Any, Literal

from pydantic import SerializerFunctionWrapHandler, model_serializer

from gbc.blackjack import Action, Outcome, Phase, Result, Round, card_label, hand_value
from gbc.blackjack.round import HandStatus, hand_status
from gbc.data.models import Game, GameResult, GameState
from gbc.views import Money, Timestamp, View


class HandView(View):
    cards: list[str]
    total: int
    soft: bool
    bet: Money
    doubled: bool
    status: HandStatus


class DealerView(View):
    cards: list[str]  # the upcard and "hidden" until the round ends
    total: int  # of the cards shown


class HandOutcome(View):
    result: Result | Literal["BUST"]
    payout: Money  # returned for this hand, stake included


class OutcomeView(View):
    result: Result
    win_amount: Money
    total_wagered: Money
    net_profit: Money
    insurance_payout: Money
    hands: list[HandOutcome]

    @classmethod
    def of(cls, outcome: Outcome) -> "OutcomeView":
        return cls(
            result=outcome.result,
            win_amount=outcome.win_amount,
            total_wagered=outcome.total_wagered,
            net_profit=outcome.net_profit,
            insurance_payout=outcome.insurance_payout,
            hands=[HandOutcome(result=h.result, payout=h.payout) for h in outcome.hands],
        )


class FairnessView(View):
    server_seed_hash: str
    client_seed: str
    nonce: int
    server_seed: str | None = None  # revealed once nothing more can be dealt; absent before

    @model_serializer(mode="wrap")
    def _without_unrevealed_seed(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("serverSeed") is None:
            data.pop("serverSeed", None)
        return data

    @classmethod
    def of(cls, game: Game) -> "FairnessView":
        data = game.fairness
        revealed = data["serverSeed"] if game.ended_at is not None else None
        return cls(
            server_seed_hash=data["serverSeedHash"],
            client_seed=data["clientSeed"],
            nonce=data["nonce"],
            server_seed=revealed,
        )


class GameView(View):
    """GET /api/game/{id}; once the game has ended it never changes (and is cached)."""

    id: uuid.UUID
    state: GameState
    bet_amount: Money
    bet: Money
    hands: list[HandView]
    active_hand: int | None
    dealer: DealerView
    phase: Phase
    insurance: Money
    total_wagered: Money
    legal_actions: list[Action]
    outcome: OutcomeView | None
    result: GameResult | None
    win_amount: Money
    net_profit: Money
    fairness: FairnessView
    created_at: Timestamp | None
    ended_at: Timestamp | None

    @classmethod
    def of(cls, game: Game, round_: Round) -> "GameView":
        ended = round_.phase == Phase.ENDED
        shown = round_.dealer if ended else round_.dealer[:1]
        return cls(
            id=game.id,
            state=game.state,
            bet_amount=game.bet_amount,
            bet=round_.bet,
            hands=[
                HandView(
                    cards=[card_label(c) for c in hand.cards],
                    total=hand_value(hand.cards)[0],
                    soft=hand_value(hand.cards)[1],
                    bet=hand.bet,
                    doubled=hand.doubled,
                    status=hand_status(round_, index),
                )
                for index, hand in enumerate(round_.hands)
            ],
            active_hand=None if ended else round_.active,
            dealer=DealerView(
                cards=[card_label(c) for c in shown] + ([] if ended else ["hidden"]),
                total=hand_value(shown)[0],
            ),
            phase=round_.phase,
            insurance=round_.insurance,
            total_wagered=round_.total_wagered(),
            legal_actions=round_.legal_actions(),
            outcome=None if round_.outcome is None else OutcomeView.of(round_.outcome),
            result=game.result,
            win_amount=game.win_amount,
            net_profit=game.net_profit,
            fairness=FairnessView.of(game),
            created_at=game.created_at,
            ended_at=game.ended_at,
        )


class PlayView(GameView):
    """POST /api/game and /api/game/action: the game after the step, and the caller's balance."""

    balance: Money


class FairnessChecks(View):
    commitment: bool  # sha256(serverSeed) is the hash shown before the first card
    replay: bool  # the recorded moves on the re-derived shoe give the stored round


class VerifyView(View):
    """GET /api/game/{id}/verify."""

    game_id: uuid.UUID
    valid: bool
    checks: FairnessChecks
    server_seed_hash: str
    client_seed: str
    nonce: int
    server_seed: str
    moves: list[str]
    shoe_prefix: list[str]
    algorithm: str
