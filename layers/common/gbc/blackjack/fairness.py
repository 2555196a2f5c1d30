"""Provably fair shoe: every round's order is fixed by seeds the player can check once it is over.

How a round's shoe is made, precisely (enough to re-derive it independently):

1. Commitment. Before the round the server picks a secret server seed, 32 random bytes written as 64
   lowercase hex characters, and publishes commitment = SHA-256 of that hex *string* encoded as UTF-8,
   as lowercase hex. The player supplies a client seed (any text) and each round has a nonce (an integer).
2. Random stream. For counter = 0, 1, 2, ... compute
       HMAC-SHA256(key = bytes.fromhex(server_seed), message = f"{client_seed}:{nonce}:{counter}" as UTF-8)
   with nonce and counter in decimal. Each 32-byte digest is read as eight big-endian unsigned 32-bit
   integers, in order; the stream is those integers, digest after digest.
3. rand_below(m), a uniform integer in [0, m): take the next stream value v; while
   v >= 2**32 - (2**32 % m), discard it and take the next (rejection keeps every result equally likely);
   return v % m.
4. Shuffle. Start from the unshuffled shoe of n = 52 * 6 = 312 cards, position k holding card k % 52.
   For i = 0 .. n-2: j = i + rand_below(n - i); swap positions i and j (a forward Fisher-Yates).
   The card at position i is the i-th card drawn in the round (deal order: player, dealer upcard,
   player, dealer hole card, then every further card as it is drawn).
5. Cards. rank = card % 13 (A, 2, ..., 10, J, Q, K), suit = card // 13 (spades, hearts, diamonds, clubs).

Position i is final once step i is done, so the shoe is shuffled lazily: drawing k cards costs k steps
and gives exactly the first k cards of the full shuffle. After the round the server reveals its seed
and verify_round checks the commitment and the cards dealt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from gbc.blackjack.cards import Card

DECKS = 6
_U32 = 2**32


def new_server_seed() -> str:
    return secrets.token_bytes(32).hex()


def commitment(server_seed: str) -> str:
    return hashlib.sha256(server_seed.encode("utf-8")).hexdigest()


class LazyShoe:
    """Forward Fisher-Yates carried out only as far as the cards asked for; subclasses supply rand_below."""

    def __init__(self, decks: int = DECKS) -> None:
        if decks < 1:
            raise ValueError("a shoe needs at least one deck")
        self._cards: list[Card] = list(range(52)) * decks  # position k holds card k % 52
        self._fixed = 0  # positions below this are final

    def rand_below(self, m: int) -> int:
        raise NotImplementedError

    def card(self, index: int) -> Card:
        cards = self._cards
        n = len(cards)
        if not 0 <= index < n:
            raise IndexError(f"the shoe has {n} cards; there is no card {index}")
        while self._fixed <= index:
            i = self._fixed
            if i < n - 1:  # the last position is whatever is left
                j = i + self.rand_below(n - i)
                cards[i], cards[j] = cards[j], cards[i]
            self._fixed = i + 1
        return cards[index]

    def full_shoe(self) -> list[Card]:
        self.card(len(self._cards) - 1)
        return list(self._cards)


class FairShoe(LazyShoe):
    """The shoe of one round, drawn from the HMAC-SHA256 stream described in the module docstring."""

    def __init__(self, server_seed: str, client_seed: str, nonce: int, decks: int = DECKS) -> None:
        super().__init__(decks)
        if isinstance(nonce, bool) or not isinstance(nonce, int):
            raise TypeError("the nonce must be an int")
        self._key = bytes.fromhex(server_seed)
        self._prefix = f"{client_seed}:{nonce}:"
        self._counter = 0
        self._words: list[int] = []
        self._next_word = 0

    def _u32(self) -> int:
        if self._next_word == len(self._words):
            message = f"{self._prefix}{self._counter}".encode()
            digest = hmac.new(self._key, message, hashlib.sha256).digest()
            self._words = [int.from_bytes(digest[k : k + 4], "big") for k in range(0, 32, 4)]
            self._next_word = 0
            self._counter += 1
        word = self._words[self._next_word]
        self._next_word += 1
        return word

    def rand_below(self, m: int) -> int:
        limit = _U32 - _U32 % m
        while True:
            value = self._u32()
            if value < limit:
                return value % m


def derive_shoe(server_seed: str, client_seed: str, nonce: int, decks: int = DECKS) -> list[Card]:
    return FairShoe(server_seed, client_seed, nonce, decks).full_shoe()


def verify_round(server_seed: str, server_seed_hash: str, client_seed: str, nonce: int, dealt: Sequence[Card]) -> bool:
    """The revealed seed matches its commitment and `dealt` (in draw order) is how its shoe begins."""
    if commitment(server_seed) != server_seed_hash.lower():
        return False
    try:
        shoe = FairShoe(server_seed, client_seed, nonce)
    except (TypeError, ValueError):
        return False
    if len(dealt) > DECKS * 52:
        return False
    return all(shoe.card(index) == card for index, card in enumerate(dealt))
