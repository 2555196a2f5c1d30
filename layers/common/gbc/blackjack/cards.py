"""Cards as small integers, their blackjack values, and the one thing the engine asks of a shoe: the card at a
position. Every rank and suit calculation of the engine is here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

Card = int  # 0..51; rank = card % 13 (0=A, 1=2, ..., 9=10, 10=J, 11=Q, 12=K); suit = card // 13 (S, H, D, C)

_RANKS = ("A", "2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K")
_SUITS = "SHDC"
# Aces count 1 here; hand_value adds 10 when that does not bust.
_VALUES = tuple(min(card % 13 + 1, 10) for card in range(52))


class Shoe(Protocol):
    def card(self, index: int) -> Card:
        """The index-th card of this round's shuffled shoe."""
        ...


def card_value(card: Card) -> int:
    """1 for an ace, 2..9, 10 for a ten or a face card: the "equal value" a split asks for."""
    return _VALUES[card]


def is_ace(card: Card) -> bool:
    return card % 13 == 0


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
