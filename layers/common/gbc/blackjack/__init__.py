"""Blackjack, pure: the rules engine (cards, the round as a value, the rules of play), the provably fair shoe and
basic strategy. No I/O and nothing from the rest of gbc but money formatting, so the rules can be read, tested and
replayed on their own; gbc.game stores and serves the rounds."""

from __future__ import annotations

from gbc.blackjack.cards import Card, Shoe, card_label, card_value, hand_value
from gbc.blackjack.fairness import DECKS, FairShoe, LazyShoe, commitment, derive_shoe, new_server_seed, verify_round
from gbc.blackjack.round import (
    BUST,
    MAX_HANDS,
    Action,
    Hand,
    HandResult,
    HandResultKind,
    HandStatus,
    Outcome,
    Phase,
    Result,
    Round,
    hand_status,
)
from gbc.blackjack.rules import IllegalAction, apply, deal
from gbc.blackjack.strategy import basic_strategy

__all__ = [
    "BUST",
    "DECKS",
    "MAX_HANDS",
    "Action",
    "Card",
    "FairShoe",
    "Hand",
    "HandResult",
    "HandResultKind",
    "HandStatus",
    "IllegalAction",
    "LazyShoe",
    "Outcome",
    "Phase",
    "Result",
    "Round",
    "Shoe",
    "apply",
    "basic_strategy",
    "card_label",
    "card_value",
    "commitment",
    "deal",
    "derive_shoe",
    "hand_status",
    "hand_value",
    "new_server_seed",
    "verify_round",
]
