"""Domain events: what a transaction changed, recorded on its unit of work (`uow.record(event)`).

Once the transaction has committed, each subscriber gets the transaction's events of its type, in
order, as one batch (several balance changes of one user become one cache update), and all of a
transaction's batches are published inside the contexts subscribers registered with
`publish_within` (the cache writes them together: one round trip for all). A subscriber may
also ask for the events of a transaction whose COMMIT lost its answer: the change may or may not be
durable, so such a subscriber can only make derived copies unreachable. Nothing here does I/O; the
subscribers live with what they keep in sync (gbc.cache.sync) and each function installs them at
import (gbc.bootstrap).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from gbc.observability import logger


@dataclass(frozen=True, slots=True)
class BalanceChanged:
    """A ledger row was written and the balance moved (gbc.ledger)."""

    user_id: uuid.UUID
    type: str  # the TransactionType's value
    entry: dict[str, Any]  # the row as GET /api/transactions shows it
    version: int  # the user's balance_version after the change: orders concurrent updates
    balance: Decimal
    total_deposited: Decimal
    total_withdrawn: Decimal


@dataclass(frozen=True, slots=True)
class WithdrawalChanged:
    """A withdrawal changed state without moving the balance (paid on chain, or a reorg undid it)."""

    user_id: uuid.UUID
    withdrawal: dict[str, Any] | None = None  # {"id", "status", "amount", "txHash"} once paid on chain


@dataclass(frozen=True, slots=True)
class GameEnded:
    """A round was settled: its final view (immutable from now on) and its history row."""

    user_id: uuid.UUID
    game_id: uuid.UUID
    view: dict[str, Any]  # as GET /api/game/{id} shows it
    summary: dict[str, Any]  # as GET /api/history lists it
    filters: frozenset[str]  # the history filters it shows under ("all", "WIN", ...)


@dataclass(frozen=True, slots=True)
class StatsChanged:
    """A user's precomputed stats were stored. `repaired`: recomputed from scratch, so `version`
    (totalHands) may have gone down and cannot order this update against older ones."""

    user_id: uuid.UUID
    view: dict[str, Any]
    version: int
    repaired: bool = False


@dataclass(frozen=True, slots=True)
class UserChanged:
    """A profile changed; `renamed`: the username too (it shows on the leaderboards)."""

    user_id: uuid.UUID
    renamed: bool


@dataclass(frozen=True, slots=True)
class DepositSeen:
    """The poller stored a Deposit log (confirmed, not yet credited): the seed's optimistic event."""

    account: str  # the depositor's address, lower case
    amount: Decimal
    tx_hash: str


Event = BalanceChanged | WithdrawalChanged | GameEnded | StatsChanged | UserChanged | DepositSeen
EVENT_TYPES: tuple[type[Event], ...] = (
    BalanceChanged,
    WithdrawalChanged,
    GameEnded,
    StatsChanged,
    UserChanged,
    DepositSeen,
)
When = Literal["committed", "outcome_unknown"]
Subscriber = Callable[[list[Any]], None]

_subscribers: dict[tuple[When, type[Any]], list[Subscriber]] = defaultdict(list)
_contexts: list[Callable[[], AbstractContextManager[Any]]] = []


def subscribe(event_type: type[Any], when: When = "committed") -> Callable[[Subscriber], Subscriber]:
    """Register `fn(events)` for a type of event (registering the same function again does nothing)."""

    def register(fn: Subscriber) -> Subscriber:
        listeners = _subscribers[(when, event_type)]
        if fn not in listeners:
            listeners.append(fn)
        return fn

    return register


def publish_within(context: Callable[[], AbstractContextManager[Any]]) -> None:
    """Publish every transaction's events inside `context()` (registering it again does nothing)."""
    if context not in _contexts:
        _contexts.append(context)


def subscribers(event_type: type[Any], when: When = "committed") -> list[Subscriber]:
    return list(_subscribers.get((when, event_type), ()))


def publish(events: Sequence[Event], when: When = "committed") -> None:
    """Hand a transaction's events to their subscribers. The data is committed (or its fate unknown):
    a failing subscriber must not turn the request into an error, so it is logged and the others run;
    cache TTLs are the safety net."""
    if not events:
        return
    batches: dict[type[Any], list[Event]] = {}
    for event in events:
        batches.setdefault(type(event), []).append(event)
    try:
        with ExitStack() as stack:
            for context in _contexts:
                stack.enter_context(context())
            _deliver(batches, when)
    except Exception:
        logger.exception("publishing domain events failed")


def _deliver(batches: dict[type[Any], list[Event]], when: When) -> None:
    for event_type, batch in batches.items():
        listeners = _subscribers.get((when, event_type))
        if not listeners and when == "committed":
            logger.error(
                "no subscriber for a domain event: was gbc.bootstrap.bootstrap() called?",
                extra={"event": event_type.__name__},
            )
        for fn in listeners or ():
            try:
                fn(batch)
            except Exception:
                logger.exception("event subscriber failed", extra={"subscriber": getattr(fn, "__name__", repr(fn))})
