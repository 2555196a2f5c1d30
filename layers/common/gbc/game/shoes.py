"""Where a game's cards come from: the adapter the game service deals through. `factory` is the real
one by default, the provably fair shoe of the game's seeds; a test that needs an exact scenario sets
another through its monkeypatch (tests/support/shoes.py). Verification never uses it: it re-derives
the fair shoe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gbc.blackjack import FairShoe, Shoe

ShoeFactory = Callable[[dict[str, Any]], Shoe]


def fair_shoe(seeds: dict[str, Any]) -> Shoe:
    """The shoe a game's fairness record commits to (serverSeed, clientSeed, nonce)."""
    return FairShoe(seeds["serverSeed"], seeds["clientSeed"], int(seeds["nonce"]))


factory: ShoeFactory = fair_shoe


def shoe_for(seeds: dict[str, Any]) -> Shoe:
    return factory(seeds)
