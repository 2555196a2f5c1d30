"""The provably fair shoe: commitment, determinism, the lazy shuffle and round verification."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import struct
from collections import Counter

import pytest

from gbc.blackjack import DECKS, FairShoe, commitment, derive_shoe, new_server_seed, verify_round

SEED = "9f" * 32
CLIENT = "lucky-client"
# The first cards for server seed "00" * 32, client seed "client", nonce 0.
PINNED = [20, 38, 22, 49, 47, 30, 30, 11, 51, 50, 42, 12]


def reference_shoe(server_seed: str, client_seed: str, nonce: int, decks: int = DECKS) -> list[int]:
    """The module docstring's recipe written out eagerly and independently, as a player would."""

    def stream():
        for counter in itertools.count():
            message = f"{client_seed}:{nonce}:{counter}".encode()
            yield from struct.unpack(">8I", hmac.new(bytes.fromhex(server_seed), message, hashlib.sha256).digest())

    words = stream()

    def rand_below(m: int) -> int:
        while True:
            value = next(words)
            if value < 2**32 - 2**32 % m:
                return value % m

    cards = [k % 52 for k in range(52 * decks)]
    n = len(cards)
    for i in range(n - 1):
        j = i + rand_below(n - i)
        cards[i], cards[j] = cards[j], cards[i]
    return cards


def test_server_seeds_are_32_random_bytes():
    seeds = {new_server_seed() for _ in range(20)}
    assert len(seeds) == 20
    assert all(len(seed) == 64 and bytes.fromhex(seed) for seed in seeds)


def test_commitment_is_sha256_of_the_hex_string():
    assert commitment(SEED) == hashlib.sha256(SEED.encode("utf-8")).hexdigest()
    assert commitment("00" * 32) == "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55"


def test_the_shoe_follows_the_documented_recipe():
    assert derive_shoe(SEED, CLIENT, 7) == reference_shoe(SEED, CLIENT, 7)
    assert derive_shoe(SEED, CLIENT, 7, decks=1) == reference_shoe(SEED, CLIENT, 7, decks=1)


def test_the_shoe_is_pinned():
    # A published algorithm must never change under players' feet: these are its first cards.
    assert derive_shoe("00" * 32, "client", 0)[:12] == reference_shoe("00" * 32, "client", 0)[:12]
    assert derive_shoe("00" * 32, "client", 0)[:12] == PINNED


def test_deterministic_and_sensitive_to_every_input():
    shoe = derive_shoe(SEED, CLIENT, 1)
    assert derive_shoe(SEED, CLIENT, 1) == shoe
    assert derive_shoe(SEED, CLIENT + "x", 1) != shoe
    assert derive_shoe(SEED, CLIENT, 2) != shoe
    assert derive_shoe("9e" + "9f" * 31, CLIENT, 1) != shoe


def test_the_full_shoe_is_six_decks():
    shoe = derive_shoe(SEED, CLIENT, 3)
    assert len(shoe) == 312
    assert Counter(shoe) == {card: 6 for card in range(52)}


def test_lazy_cards_are_the_full_shuffle():
    full = derive_shoe(SEED, CLIENT, 4)
    lazy = FairShoe(SEED, CLIENT, 4)
    for index in (10, 3, 0, 11, 200, 311, 57):  # any order: asking again never reshuffles
        assert lazy.card(index) == full[index]
    assert lazy.full_shoe() == full
    with pytest.raises(IndexError):
        lazy.card(312)


def test_dealing_k_cards_costs_k_draws():
    class Counting(FairShoe):
        draws = 0

        def rand_below(self, m: int) -> int:
            self.draws += 1
            return super().rand_below(m)

    shoe = Counting(SEED, CLIENT, 5)
    shoe.card(5)
    assert shoe.draws == 6
    shoe.card(2)
    assert shoe.draws == 6
    shoe.card(311)
    assert shoe.draws == 311  # the last position needs no draw


def test_rand_below_rejects_the_biased_tail():
    class Scripted(FairShoe):
        def __init__(self, words: list[int]) -> None:
            super().__init__(SEED, CLIENT, 0)
            self.words = iter(words)

        def _u32(self) -> int:
            return next(self.words)

    # 2**32 % 3 == 1, so 2**32 - 1 is the one value rejected for m = 3.
    assert Scripted([2**32 - 1, 5]).rand_below(3) == 2
    assert Scripted([2**32 - 2]).rand_below(3) == (2**32 - 2) % 3
    assert Scripted([2**32 - 1]).rand_below(2) == 1  # a power of two rejects nothing


def test_rand_below_is_roughly_uniform():
    shoe = FairShoe(SEED, CLIENT, 6)
    counts = Counter(shoe.rand_below(6) for _ in range(6000))
    assert set(counts) == set(range(6))
    assert all(850 <= count <= 1150 for count in counts.values())  # ~5 standard deviations either way


def test_verify_round():
    seed_hash = commitment(SEED)
    dealt = derive_shoe(SEED, CLIENT, 9)[:9]
    assert verify_round(SEED, seed_hash, CLIENT, 9, dealt)
    assert verify_round(SEED, seed_hash.upper(), CLIENT, 9, dealt)
    assert verify_round(SEED, seed_hash, CLIENT, 9, [])
    tampered = [*dealt[:-1], (dealt[-1] + 1) % 52]
    assert not verify_round(SEED, seed_hash, CLIENT, 9, tampered)
    assert not verify_round(SEED, seed_hash, CLIENT, 10, dealt)
    assert not verify_round(SEED, seed_hash, CLIENT + "x", 9, dealt)
    other = "9e" + "9f" * 31
    assert not verify_round(other, seed_hash, CLIENT, 9, dealt)
    assert not verify_round(other, commitment(other), CLIENT, 9, dealt)
    assert not verify_round(SEED, commitment(other), CLIENT, 9, dealt)
    assert not verify_round("not hex", commitment("not hex"), CLIENT, 9, dealt)
    assert not verify_round(SEED, seed_hash, CLIENT, 9, [*derive_shoe(SEED, CLIENT, 9), 0])  # longer than the shoe


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        FairShoe("xyz", CLIENT, 0)
    with pytest.raises(TypeError):
        FairShoe(SEED, CLIENT, "1")
    with pytest.raises(ValueError):
        FairShoe(SEED, CLIENT, 0, decks=0)
