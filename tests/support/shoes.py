"""Stacked shoes for exact game scenarios through the API: the game service's shoe adapter
(gbc.game.shoes.factory) deals the given cards first (then a fixed filler) for the test."""

from __future__ import annotations

from gbc.game import shoes

RANKS = {"A": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6, "8": 7, "9": 8, "10": 9, "J": 10, "Q": 11, "K": 12}


class StackedShoe:
    def __init__(self, cards: list[int]) -> None:
        self.cards = cards

    def card(self, index: int) -> int:
        return self.cards[index] if index < len(self.cards) else RANKS["2"]


def stack(monkeypatch, *ranks: str) -> None:
    """Deal order: player, dealer up, player, dealer hole, then hits. Ranks like "A", "10", "K"."""
    cards = [RANKS[r] + 13 * (i % 4) for i, r in enumerate(ranks)]
    monkeypatch.setattr(shoes, "factory", lambda seeds: StackedShoe(cards))
