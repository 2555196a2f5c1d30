"""The blackjack rules engine: a round is a plain value, `deal` starts one and `apply` returns the next.

Rules: 6 decks, a fresh shoe every round; the dealer stands on all 17s; blackjack pays 3:2; the dealer
peeks with an ace or a ten-value card up; insurance (ace up only, up to half the bet) pays 2:1; double
on any first two cards, also after a split but not on split aces; split equal values up to 4 hands;
split aces get one card each and are not resplit; late surrender as the first decision of an unsplit
hand. Pure: no I/O, no clock, and every card comes from the Shoe passed in, in draw order.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol

from gbc.money import money_str

Card = int  # 0..51; rank = card % 13 (0=A, 1=2, ..., 9=10, 10=J, 11=Q, 12=K); suit = card // 13 (S, H, D, C)

MAX_HANDS = 4
_RANKS = ("A", "2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K")
_SUITS = "SHDC"
# Aces count 1 here; hand_value adds 10 when that does not bust. Also the "equal value" test for splits.
_VALUES = tuple(min(card % 13 + 1, 10) for card in range(52))

WIN, LOSE, PUSH, BLACKJACK, SURRENDER, BUST = "WIN", "LOSE", "PUSH", "BLACKJACK", "SURRENDER", "BUST"


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


class IllegalAction(Exception):
    """An action the round does not allow now; str(exc) says why, for the player."""


class Shoe(Protocol):
    def card(self, index: int) -> Card:
        """The index-th card of this round's shuffled shoe."""
        ...


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
    result: str  # WIN, LOSE, PUSH, BLACKJACK, SURRENDER or BUST (a loss)
    payout: Decimal  # returned for this hand, stake included


@dataclass
class Outcome:
    result: str  # WIN, LOSE, PUSH, BLACKJACK or SURRENDER for the whole round
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
        return [action for action in Action if _why_not(self, action) is None]

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

    def public_view(self) -> dict[str, Any]:
        ended = self.phase == Phase.ENDED
        # The hole card stays hidden until the round ends.
        dealer_cards = self.dealer if ended else self.dealer[:1]
        dealer_labels = [card_label(card) for card in dealer_cards] + ([] if ended else ["hidden"])
        return {
            "bet": money_str(self.bet),
            "hands": [
                {
                    "cards": [card_label(card) for card in hand.cards],
                    "total": hand_value(hand.cards)[0],
                    "soft": hand_value(hand.cards)[1],
                    "bet": money_str(hand.bet),
                    "doubled": hand.doubled,
                    "status": _hand_status(self, index),
                }
                for index, hand in enumerate(self.hands)
            ],
            "activeHand": None if ended else self.active,
            "dealer": {"cards": dealer_labels, "total": hand_value(dealer_cards)[0]},
            "phase": Phase(self.phase).value,
            "insurance": money_str(self.insurance),
            "totalWagered": money_str(self.total_wagered()),
            "legalActions": [action.value for action in self.legal_actions()],
            "outcome": None if self.outcome is None else _outcome_view(self.outcome),
        }


def hand_value(cards: Sequence[Card]) -> tuple[int, bool]:
    """(best total, is_soft): one ace counts 11 when that does not bust the hand (two never can)."""
    total = 0
    has_ace = False
    for card in cards:
        value = _VALUES[card]
        total += value
        if value == 1:
            has_ace = True
    if has_ace and total <= 11:
        return total + 10, True
    return total, False


def card_label(card: Card) -> str:
    return _RANKS[card % 13] + _SUITS[card // 13]


def deal(bet: Decimal, shoe: Shoe) -> Round:
    """Deal player, dealer upcard, player, dealer hole; settle at once when the rules say so."""
    if not isinstance(bet, Decimal) or not bet.is_finite() or bet <= 0:
        raise ValueError("the bet must be a positive, finite Decimal")
    round_ = Round(bet=bet, hands=[Hand(cards=[], bet=bet)], active=0, dealer=[], phase=Phase.PLAYER_TURN)
    hand = round_.hands[0]
    hand.cards.append(_draw(round_, shoe))
    round_.dealer.append(_draw(round_, shoe))
    hand.cards.append(_draw(round_, shoe))
    round_.dealer.append(_draw(round_, shoe))
    if round_.dealer[0] % 13 == 0:
        round_.phase = Phase.INSURANCE  # the peek waits for the insurance decision
    elif _dealer_blackjack(round_.dealer) or _is_natural(round_, hand):
        # Only a ten up can hide a blackjack, so this is the immediate peek; else a natural is paid now.
        _settle(round_)
    return round_


def apply(round_: Round, action: Action | str, shoe: Shoe, amount: Decimal | None = None) -> Round:
    """The round after `action`, as a new Round (the input is left as it was). Raises IllegalAction."""
    act = _parse_action(action)
    reason = _why_not(round_, act)
    if reason is not None:
        raise IllegalAction(reason)
    if amount is not None and act is not Action.INSURANCE:
        raise IllegalAction("an amount is only accepted with insurance")
    new = _clone(round_)
    if new.phase == Phase.INSURANCE:
        # Any answer closes the offer; a normal action declines it and waits until after the peek.
        new.insurance = _insurance_stake(new, amount) if act is Action.INSURANCE else Decimal(0)
        new.insurance_decided = True
        if _dealer_blackjack(new.dealer) or _is_natural(new, new.hands[0]):
            _settle(new)  # the pending action is void: the round is over
            return new
        new.phase = Phase.PLAYER_TURN
        if act is Action.INSURANCE:
            return new
    _play(new, act, shoe)
    return new


# --- legality -----------------------------------------------------------------------------------------------------


def _parse_action(action: Action | str) -> Action:
    try:
        return Action(action)
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise IllegalAction(f"unknown action {action!r}; expected one of: {choices}") from None


def _why_not(round_: Round, act: Action) -> str | None:
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
    if round_.phase == Phase.INSURANCE and _is_natural(round_, hand) and act is not Action.STAND:
        return "you have blackjack: take insurance (even money) or stand"
    if hand.split_aces:
        return "split aces get exactly one card each"
    if act is Action.DOUBLE_DOWN and len(hand.cards) != 2:
        return "you can only double down on your first two cards"
    if act is Action.SPLIT:
        if len(hand.cards) != 2 or _VALUES[hand.cards[0]] != _VALUES[hand.cards[1]]:
            return "you can only split your first two cards, and only when they have the same value"
        if len(round_.hands) >= MAX_HANDS:
            return f"you cannot split into more than {MAX_HANDS} hands"
    if act is Action.SURRENDER:
        if split or hand.from_split:
            return "surrender is not allowed after a split"
        if len(hand.cards) != 2:
            return "surrender is only allowed as your first decision"
    return None


def _insurance_stake(round_: Round, amount: Decimal | None) -> Decimal:
    cap = round_.bet / 2
    if amount is None:
        return cap
    try:
        # Floats are refused (money is never float); ints and decimal strings convert exactly.
        stake = Decimal(amount) if isinstance(amount, Decimal | int | str) and not isinstance(amount, bool) else None
    except InvalidOperation:
        stake = None
    if stake is None or not stake.is_finite():
        raise IllegalAction("the insurance amount must be a decimal number")
    if stake <= 0:
        raise IllegalAction("the insurance amount must be more than 0")
    if stake > cap:
        raise IllegalAction(f"insurance is at most half the bet ({money_str(cap)})")
    return stake


# --- play ---------------------------------------------------------------------------------------------------------


def _draw(round_: Round, shoe: Shoe) -> Card:
    card = shoe.card(round_.cursor)
    if not 0 <= card < 52:
        raise ValueError(f"the shoe gave an invalid card {card!r} at {round_.cursor}")
    round_.cursor += 1
    return card


def _play(round_: Round, act: Action, shoe: Shoe) -> None:
    hand = round_.hands[round_.active]
    if act in (Action.HIT, Action.SPLIT_HIT):
        hand.cards.append(_draw(round_, shoe))
        hand.done = hand_value(hand.cards)[0] >= 21  # a bust or a 21 ends the hand
    elif act in (Action.STAND, Action.SPLIT_STAND):
        hand.done = True
    elif act is Action.DOUBLE_DOWN:
        hand.bet *= 2
        hand.doubled = True
        hand.cards.append(_draw(round_, shoe))
        hand.done = True
    elif act is Action.SPLIT:
        _split(round_, shoe)
    elif act is Action.SURRENDER:
        hand.surrendered = True
        hand.done = True
    _advance(round_, shoe)


def _split(round_: Round, shoe: Shoe) -> None:
    hand = round_.hands[round_.active]
    aces = hand.cards[0] % 13 == 0
    pair = [Hand(cards=[card], bet=hand.bet, from_split=True, split_aces=aces) for card in hand.cards]
    # Both hands get their second card now, first hand first; the order is fixed so the shoe replays exactly.
    for new in pair:
        new.cards.append(_draw(round_, shoe))
        new.done = aces or hand_value(new.cards)[0] == 21  # split aces take one card; 21 cannot improve
    round_.hands[round_.active : round_.active + 1] = pair


def _advance(round_: Round, shoe: Shoe) -> None:
    """Move to the next unfinished hand; when there is none, the dealer plays and the round settles."""
    while round_.active < len(round_.hands) and round_.hands[round_.active].done:
        round_.active += 1
    if round_.active == len(round_.hands):
        round_.active = len(round_.hands) - 1
        if any(not hand.surrendered and hand_value(hand.cards)[0] <= 21 for hand in round_.hands):
            while hand_value(round_.dealer)[0] < 17:  # stands on every 17, soft ones too
                round_.dealer.append(_draw(round_, shoe))
        _settle(round_)


# --- settlement ---------------------------------------------------------------------------------------------------


def _is_natural(round_: Round, hand: Hand) -> bool:
    return len(round_.hands) == 1 and not hand.from_split and len(hand.cards) == 2 and hand_value(hand.cards)[0] == 21


def _dealer_blackjack(dealer: list[Card]) -> bool:
    # At settlement a two-card dealer 21 can only be the initial hand: the dealer draws from 16 or less.
    return len(dealer) == 2 and hand_value(dealer)[0] == 21


def _settle_hand(round_: Round, hand: Hand, dealer_total: int, dealer_bj: bool) -> HandResult:
    bet = hand.bet
    total = hand_value(hand.cards)[0]
    if hand.surrendered:
        return HandResult(SURRENDER, bet / 2)
    if _is_natural(round_, hand):
        return HandResult(PUSH, bet) if dealer_bj else HandResult(BLACKJACK, bet * 5 / 2)
    if dealer_bj:
        return HandResult(LOSE, Decimal(0))
    if total > 21:
        return HandResult(BUST, Decimal(0))
    if dealer_total > 21 or total > dealer_total:
        return HandResult(WIN, bet * 2)
    if total == dealer_total:
        return HandResult(PUSH, bet)
    return HandResult(LOSE, Decimal(0))


def _settle(round_: Round) -> None:
    dealer_bj = _dealer_blackjack(round_.dealer)
    dealer_total = hand_value(round_.dealer)[0]
    results = [_settle_hand(round_, hand, dealer_total, dealer_bj) for hand in round_.hands]
    insurance_payout = round_.insurance * 3 if dealer_bj else Decimal(0)
    win_amount = sum((result.payout for result in results), insurance_payout)
    total_wagered = round_.total_wagered()
    net = win_amount - total_wagered
    if len(results) == 1 and results[0].result in (BLACKJACK, SURRENDER):
        result = results[0].result
    else:
        result = WIN if net > 0 else LOSE if net < 0 else PUSH
    round_.outcome = Outcome(
        result=result,
        win_amount=win_amount,
        total_wagered=total_wagered,
        net_profit=net,
        hands=results,
        insurance_payout=insurance_payout,
    )
    round_.phase = Phase.ENDED


# --- copies and views ---------------------------------------------------------------------------------------------


def _clone(round_: Round) -> Round:
    # Hand-written deep copy: copy.deepcopy is the hot path's biggest cost, and Decimals are immutable anyway.
    return Round(
        bet=round_.bet,
        hands=[
            Hand(
                cards=list(hand.cards),
                bet=hand.bet,
                doubled=hand.doubled,
                from_split=hand.from_split,
                split_aces=hand.split_aces,
                done=hand.done,
                surrendered=hand.surrendered,
            )
            for hand in round_.hands
        ],
        active=round_.active,
        dealer=list(round_.dealer),
        phase=round_.phase,
        insurance=round_.insurance,
        insurance_decided=round_.insurance_decided,
        cursor=round_.cursor,
        outcome=copy.deepcopy(round_.outcome),
    )


def _hand_status(round_: Round, index: int) -> str:
    hand = round_.hands[index]
    total = hand_value(hand.cards)[0]
    if hand.surrendered:
        return "surrendered"
    if _is_natural(round_, hand):
        return "blackjack"
    if total > 21:
        return "bust"
    if not hand.done:
        return "done" if round_.phase == Phase.ENDED else "playing"  # ended before it was played: dealer blackjack
    # Finished by the rules (double, split aces, 21) rather than by the player standing.
    return "done" if hand.doubled or hand.split_aces or total == 21 else "stood"


def _outcome_to_dict(outcome: Outcome) -> dict[str, Any]:
    return {
        "result": outcome.result,
        "win_amount": str(outcome.win_amount),
        "total_wagered": str(outcome.total_wagered),
        "net_profit": str(outcome.net_profit),
        "hands": [{"result": hand.result, "payout": str(hand.payout)} for hand in outcome.hands],
        "insurance_payout": str(outcome.insurance_payout),
    }


def _outcome_from_dict(data: dict[str, Any]) -> Outcome:
    return Outcome(
        result=data["result"],
        win_amount=Decimal(data["win_amount"]),
        total_wagered=Decimal(data["total_wagered"]),
        net_profit=Decimal(data["net_profit"]),
        hands=[HandResult(hand["result"], Decimal(hand["payout"])) for hand in data["hands"]],
        insurance_payout=Decimal(data["insurance_payout"]),
    )


def _outcome_view(outcome: Outcome) -> dict[str, Any]:
    return {
        "result": outcome.result,
        "winAmount": money_str(outcome.win_amount),
        "totalWagered": money_str(outcome.total_wagered),
        "netProfit": money_str(outcome.net_profit),
        "insurancePayout": money_str(outcome.insurance_payout),
        "hands": [{"result": hand.result, "payout": money_str(hand.payout)} for hand in outcome.hands],
    }
