"""The key scheme: the seed's keys and TTLs, user families and their generations, write sequences,
deep generations and first-page indexes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# The seed's TTLs, in seconds.
TTL = {
    "user_stats": 300,
    "user_history": 120,
    "wallet_summary": 60,
    "game": 3600,
    "transactions": 300,
    "leaderboard": 600,
}

LOOKUPS_KEY = "cache:stats:lookups"
MISSES_KEY = "cache:stats:misses"
LOCK_MS = 5000
WAIT_FOR_LOADER_S = 1.0
# First-page variants (filter x limit) cached per user and kind: what one write updates at most.
MAX_FIRST_PAGES = 16

# A user's cached queries fall in two families, each with its own generation, so a bet (money moved)
# does not throw away the game history, and a finished game's stats do not throw away the wallet.
FAMILY = {"user_stats": "games", "user_history": "games", "wallet_summary": "wallet", "transactions": "wallet"}
Families = tuple[str, ...]
ALL_FAMILIES: Families = ("games", "wallet")


def prefix_of(kind: str) -> str:
    """Every key of a kind starts so: `query:{kind}:` then, for a user-scoped kind, the family's
    generation and the Keys' rest (`query:{kind}:{gen}:{rest}`), for a global kind the rest."""
    return f"query:{kind}:"


def global_key(kind: str, rest: str) -> str:
    return f"{prefix_of(kind)}{rest}"


def parse_user_key(key: str) -> tuple[str, str]:
    """(kind, the Keys' rest) of a user-scoped key: the inverse of the layout above."""
    kind, _, rest = key.removeprefix("query:").partition(":")
    return kind, rest.split(":", 1)[1] if ":" in rest else ""


# Bumped whenever the format of a cached user-scoped value changes: every entry of the old format is
# unreachable from the first request of the new release on (a missing generation starts afresh).
GENERATIONS = "query:gen2"


def _gen_key(family: str, user_id: uuid.UUID | str) -> str:
    return f"{GENERATIONS}:{family}:{user_id}"


class Keys:
    """The seed's key builders; user-scoped ones are completed with the user's generation."""

    @staticmethod
    def user_stats(user_id: uuid.UUID | str) -> tuple[str, str]:
        return "user_stats", str(user_id)

    @staticmethod
    def user_history(user_id: uuid.UUID | str, cursor: str | None, result_filter: str, limit: int) -> tuple[str, str]:
        return "user_history", f"{user_id}:{cursor or 'start'}:{result_filter}:{limit}"

    @staticmethod
    def wallet_summary(user_id: uuid.UUID | str) -> tuple[str, str]:
        return "wallet_summary", str(user_id)

    @staticmethod
    def game(game_id: uuid.UUID | str) -> tuple[str, str]:
        """Global (not per user): an ended game is immutable; the entry names its owner."""
        return "game", str(game_id)

    @staticmethod
    def leaderboard(period: str) -> tuple[str, str]:
        return "leaderboard", period

    @staticmethod
    def transactions(user_id: uuid.UUID | str, cursor: str | None, limit: int) -> tuple[str, str]:
        return "transactions", f"{user_id}:{cursor or 'start'}:{limit}"


@dataclass(frozen=True)
class FirstPage:
    """What a cached first page's key says (the inverse of Keys.user_history / Keys.transactions)."""

    result_filter: str | None
    limit: int


def first_page_of(kind: str, rest: str) -> FirstPage:
    parts = rest.split(":")
    if kind == "user_history":  # "{user}:start:{filter}:{limit}"
        return FirstPage(parts[2], int(parts[3]))
    if kind == "transactions":  # "{user}:start:{limit}"
        return FirstPage(None, int(parts[2]))
    raise ValueError(f"{kind} has no pages")


# Besides its generation, each family has a write sequence (`query:seq:{family}:{u}`). A miss
# remembers it; the loader's value is stored only if no write hook ran since (compare-and-set), so a
# value loaded before a write committed never lands after that write's hook. Writes on the hot path
# (bets, settlements, purchases, a game's end, the stats job) then update the cached values in place
# (write-through) instead of making them unreachable; rarer writes still bump the generation.
# Keyset pages after the first (a cursor) also embed a "deep" generation that every write-through
# bumps: only the first pages are updated in place.
def _seq_key(family: str, user_id: uuid.UUID | str) -> str:
    return f"query:seq:{family}:{user_id}"


def _deep_key(family: str, user_id: uuid.UUID | str) -> str:
    return f"{GENERATIONS}:{family}.deep:{user_id}"


def _index_key(kind: str, user_id: uuid.UUID | str) -> str:
    """The set of a user's cached first pages of one kind (their key suffixes), for write-through."""
    return f"query:idx:{kind}:{user_id}"
