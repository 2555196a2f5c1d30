"""A round of blackjack as a plain value: its hands, the dealer's cards, its phase and, once over, its outcome;
which actions it allows now; and its JSON form (what a game row stores). What a player may see of it is
gbc.game.views."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Literal, TypeAlias

from gbc.blackjack.cards import Card, card_value, hand_value

MAX_HANDS = 4


class Action(StrEnum):
    HIT = "hit"
    STAND = "stand"
    DOUBLE_DOWN = "double_down"
    INSURANCE = "insurance"
    SPLIT = "split"
    SURRENDER = "surrender"
    SPLIT_HIT = "split_hit"
    SPLIT_STAND = "split_stand"
    SET_ACE_VALUE = "set_ace_value"


class Phase(StrEnum):
    INSURANCE = "INSURANCE"
    PLAYER_TURN = "PLAYER_TURN"
    ENDED = "ENDED"


class Result(StrEnum):
    """How a round ended for the player; also a hand's result. The values are stored (the game_result type)."""

    WIN = "WIN"
    LOSE = "LOSE"
    PUSH = "PUSH"
    BLACKJACK = "BLACKJACK"
    SURRENDER = "SURRENDER"


# A hand over 21: a loss, told apart from LOSE in a hand's result only (a round's result is never BUST).
BUST: Final = "BUST"
HandResultKind: TypeAlias = Result | Literal["BUST"]
HandStatus: TypeAlias = Literal["playing", "stood", "done", "bust", "blackjack", "surrendered"]


@dataclass
class Hand:
    cards: list[Card]
    bet: Decimal
    doubled: bool = False
    from_split: bool = False
    split_aces: bool = False
    done: bool = False
    surrendered: bool = False


@dataclass
class HandResult:
    result: HandResultKind
    payout: Decimal  # returned for this hand, stake included


@dataclass
class Outcome:
    result: Result  # for the whole round
    win_amount: Decimal  # everything returned, stakes and insurance included
    total_wagered: Decimal
    net_profit: Decimal
    hands: list[HandResult]
    insurance_payout: Decimal


@dataclass
class Round:
    bet: Decimal
    hands: list[Hand]
    active: int
    dealer: list[Card]  # dealer[0] is the upcard, dealer[1] the hole card
    phase: Phase
    insurance: Decimal = Decimal(0)
    insurance_decided: bool = False  # the player answered the insurance offer (only ever made with an ace up)
    cursor: int = 0  # cards drawn so far: the next card is shoe.card(cursor)
    outcome: Outcome | None = None

    def total_wagered(self) -> Decimal:
        return sum((hand.bet for hand in self.hands), self.insurance)

    def legal_actions(self) -> list[Action]:
        return [action for action in Action if why_not(self, action) is None]

    def to_dict(self) -> dict[str, Any]:
        # str(Decimal) keeps the exact digits and exponent, so from_dict gives back an identical round.
        return {
            "bet": str(self.bet),
            "hands": [
                {
                    "cards": list(hand.cards),
                    "bet": str(hand.bet),
                    "doubled": hand.doubled,
                    "from_split": hand.from_split,
                    "split_aces": hand.split_aces,
                    "done": hand.done,
                    "surrendered": hand.surrendered,
                }
                for hand in self.hands
            ],
            "active": self.active,
            "dealer": list(self.dealer),
            "phase": Phase(self.phase).value,
            "insurance": str(self.insurance),
            "insurance_decided": self.insurance_decided,
            "cursor": self.cursor,
            "outcome": None if self.outcome is None else _outcome_to_dict(self.outcome),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Round:
        outcome = data.get("outcome")
        return cls(
            bet=Decimal(data["bet"]),
            hands=[
                Hand(
                    cards=[int(card) for card in hand["cards"]],
                    bet=Decimal(hand["bet"]),
                    doubled=bool(hand.get("doubled", False)),
                    from_split=bool(hand.get("from_split", False)),
                    split_aces=bool(hand.get("split_aces", False)),
                    done=bool(hand.get("done", False)),
                    surrendered=bool(hand.get("surrendered", False)),
                )
                for hand in data["hands"]
            ],
            active=int(data["active"]),
            dealer=[int(card) for card in data["dealer"]],
            phase=Phase(data["phase"]),
            insurance=Decimal(data.get("insurance", "0")),
            insurance_decided=bool(data.get("insurance_decided", False)),
            cursor=int(data.get("cursor", 0)),
            outcome=None if outcome is None else _outcome_from_dict(outcome),
        )


def is_natural(round_: Round, hand: Hand) -> bool:
    """A blackjack: 21 in the first two cards of an unsplit hand."""
    return len(round_.hands) == 1 and not hand.from_split and len(hand.cards) == 2 and hand_value(hand.cards)[0] == 21


def why_not(round_: Round, act: Action) -> str | None:
    """Why `act` is not allowed now, or None when it is. The one source for legal_actions and apply."""
    if round_.phase == Phase.ENDED:
        return "the round has ended; no more actions are possible"
    if act is Action.SET_ACE_VALUE:
        return "set_ace_value is not supported: an ace counts as 11 unless that would bust the hand, then as 1"
    if act is Action.INSURANCE:
        if round_.phase == Phase.INSURANCE:
            return None
        if round_.insurance_decided:
            return "insurance has already been decided for this round"
        return "insurance is only offered right after the deal, when the dealer shows an ace"
    hand = round_.hands[round_.active]
    split = len(round_.hands) > 1
    if act in (Action.SPLIT_HIT, Action.SPLIT_STAND) and not split:
        plain = "hit" if act is Action.SPLIT_HIT else "stand"
        return f"{act.value} is only for split hands; use {plain}"
    if round_.phase == Phase.INSURANCE and is_natural(round_, hand) and act is not Action.STAND:
        return "you have blackjack: take insurance (even money) or stand"
    if hand.split_aces:
        return "split aces get exactly one card each"
    if act is Action.DOUBLE_DOWN and len(hand.cards) != 2:
        return "you can only double down on your first two cards"
    if act is Action.SPLIT:
        if len(hand.cards) != 2 or card_value(hand.cards[0]) != card_value(hand.cards[1]):
            return "you can only split your first two cards, and only when they have the same value"
        if len(round_.hands) >= MAX_HANDS:
            return f"you cannot split into more than {MAX_HANDS} hands"
    if act is Action.SURRENDER:
        if split or hand.from_split:
            return "surrender is not allowed after a split"
        if len(hand.cards) != 2:
            return "surrender is only allowed as your first decision"
    return None


def hand_status(round_: Round, index: int) -> HandStatus:
    """How the index-th hand stands, for the player's view."""
    hand = round_.hands[index]
    total = hand_value(hand.cards)[0]
    if hand.surrendered:
        return "surrendered"
    if is_natural(round_, hand):
        return "blackjack"
    if total > 21:
        return "bust"
    if not hand.done:
        return "done" if round_.phase == Phase.ENDED else "playing"  # ended before it was played: dealer blackjack
    # Finished by the rules (double, split aces, 21) rather than by the player standing.
    return "done" if hand.doubled or hand.split_aces or total == 21 else "stood"


def _hand_result(value: str) -> HandResultKind:
    return BUST if value == BUST else Result(value)


def _outcome_to_dict(outcome: Outcome) -> dict[str, Any]:
    return {
        "result": outcome.result.value,
        "win_amount": str(outcome.win_amount),
        "total_wagered": str(outcome.total_wagered),
        "net_profit": str(outcome.net_profit),
        "hands": [{"result": str(hand.result), "payout": str(hand.payout)} for hand in outcome.hands],
        "insurance_payout": str(outcome.insurance_payout),
    }


def _outcome_from_dict(data: dict[str, Any]) -> Outcome:
    return Outcome(
        result=Result(data["result"]),
        win_amount=Decimal(data["win_amount"]),
        total_wagered=Decimal(data["total_wagered"]),
        net_profit=Decimal(data["net_profit"]),
        hands=[HandResult(_hand_result(hand["result"]), Decimal(hand["payout"])) for hand in data["hands"]],
        insurance_payout=Decimal(data["insurance_payout"]),
    )
