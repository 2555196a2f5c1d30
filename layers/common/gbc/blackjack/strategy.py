"""Basic strategy for these rules: 6 decks, dealer stands on soft 17, double after split, late surrender,
no resplitting aces, never insurance. Total-dependent (not composition-dependent); used by the simulation."""

from __future__ import annotations

from gbc.blackjack.cards import card_value, hand_value
from gbc.blackjack.round import Action, Round


def basic_strategy(round_: Round) -> Action:
    legal = set(round_.legal_actions())
    if not legal:
        raise ValueError("the round has ended")
    hand = round_.hands[round_.active]
    up = card_value(round_.dealer[0])
    up = 11 if up == 1 else up  # the upcard as 2..10, ace = 11
    total, soft = hand_value(hand.cards)

    if Action.SPLIT in legal and _split(card_value(hand.cards[0]), up):
        return Action.SPLIT
    # Late surrender: hard 16 against 9, 10, A and hard 15 against 10 (a pair of 8s is split above).
    if Action.SURRENDER in legal and not soft and ((total == 16 and up >= 9) or (total == 15 and up == 10)):
        return Action.SURRENDER
    move = _soft(total, up) if soft else _hard(total, up)
    if move == "D":
        return Action.DOUBLE_DOWN if Action.DOUBLE_DOWN in legal else Action.HIT
    if move == "Ds":
        return Action.DOUBLE_DOWN if Action.DOUBLE_DOWN in legal else Action.STAND
    return Action.HIT if move == "H" else Action.STAND


def _split(value: int, up: int) -> bool:
    """Whether to split a pair of `value` (ace = 1) against `up`, doubling after a split allowed."""
    if value in (1, 8):
        return True
    if value == 9:
        return up not in (7, 10, 11)
    if value == 7:
        return up <= 7
    if value == 6:
        return up <= 6
    if value == 4:
        return up in (5, 6)
    if value in (2, 3):
        return up <= 7
    return False  # 5s play as hard 10, 10s stand


def _hard(total: int, up: int) -> str:
    if total >= 17:
        return "S"
    if total >= 13:
        return "S" if up <= 6 else "H"
    if total == 12:
        return "S" if 4 <= up <= 6 else "H"
    if total == 11:
        return "D" if up <= 10 else "H"
    if total == 10:
        return "D" if up <= 9 else "H"
    if total == 9:
        return "D" if 3 <= up <= 6 else "H"
    return "H"


def _soft(total: int, up: int) -> str:
    if total >= 19:
        return "S"
    if total == 18:
        if 3 <= up <= 6:
            return "Ds"
        return "S" if up in (2, 7, 8) else "H"
    if total == 17:
        return "D" if 3 <= up <= 6 else "H"
    if total in (15, 16):
        return "D" if 4 <= up <= 6 else "H"
    if total in (13, 14):
        return "D" if up in (5, 6) else "H"
    return "H"  # soft 12: two aces that may not be split again
