"""Cache sync: what each committed domain event (gbc.events) does to the cached queries.

Hot-path changes (bets, settlements, refunds of a round, purchases, a game's end, the stats job) are
written through: the cached wallet summary, first ledger and history pages and stats are updated in
place, so the next read is a hit that already shows the change. Rarer changes (chain credits,
withdrawals, profile edits) make the user's family unreachable instead. A transaction whose COMMIT
lost its answer may or may not have happened: its families become unreachable, never patched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from gbc.cache.keys import ALL_FAMILIES, FAMILY, Families, Keys, first_page_of
from gbc.cache.write import (
    DROP,
    batched,
    invalidate_leaderboards,
    invalidate_user_caches,
    put_global,
    put_versioned,
    write_through,
)
from gbc.data.models import TransactionType
from gbc.events import (
    EVENT_TYPES,
    BalanceChanged,
    DepositSeen,
    Event,
    GameEnded,
    StatsChanged,
    UserChanged,
    WithdrawalChanged,
    publish_within,
    subscribe,
)
from gbc.money import money_str
from gbc.pagination import HISTORY_ORDER, LEDGER_ORDER, insert_into_first_page

# Balance changes written through. The others (chain credits, withdrawals and their refunds,
# reversals, adjustments) may change more than the balance (pending withdrawals): they invalidate.
WRITE_THROUGH = frozenset(
    t.value
    for t in (
        TransactionType.GAME_BET,
        TransactionType.GAME_WIN,
        TransactionType.GAME_REFUND,
        TransactionType.STORE_PURCHASE,
    )
)


def _by_user(events: Iterable[Any]) -> dict[uuid.UUID, list[Any]]:
    grouped: dict[uuid.UUID, list[Any]] = {}
    for event in events:
        grouped.setdefault(event.user_id, []).append(event)
    return grouped


def balance_changed(events: list[BalanceChanged]) -> None:
    """Per user, one write-through: the summary gets the newest balance and totals (unless a newer
    version is cached), the first ledger pages get every new row."""
    for user_id, changes in _by_user(events).items():
        if any(c.type not in WRITE_THROUGH for c in changes):
            invalidate_user_caches(user_id, (FAMILY["wallet_summary"],))
            continue

        def patch(
            kind: str,
            rest: str,
            value: Any,
            changes: list[BalanceChanged] = changes,
            newest: BalanceChanged = max(changes, key=lambda c: c.version),
        ) -> Any:
            if kind == "wallet_summary":
                if value["v"] >= newest.version:
                    return value  # a newer summary is already cached
                summary = {
                    **value["summary"],
                    "balance": money_str(newest.balance),
                    "totalDeposited": money_str(newest.total_deposited),
                    "totalWithdrawn": money_str(newest.total_withdrawn),
                }
                return {"v": newest.version, "summary": summary}
            page = first_page_of(kind, rest)
            for change in changes:
                value = insert_into_first_page(value, "transactions", LEDGER_ORDER, change.entry, page.limit)
                if value is None:
                    return DROP
            return value

        write_through(FAMILY["wallet_summary"], user_id, [Keys.wallet_summary(user_id)], ["transactions"], patch)


def game_ended(events: list[GameEnded]) -> None:
    """The ended game is cached at once (immutable from now on), and the user's cached first history
    pages whose filter it shows under get it in place."""
    for event in events:
        put_global(*Keys.game(event.game_id), {"userId": str(event.user_id), "view": event.view})
    for user_id, ended in _by_user(events).items():

        def patch(kind: str, rest: str, value: Any, ended: list[GameEnded] = ended) -> Any:
            page = first_page_of(kind, rest)
            for game in ended:
                if page.result_filter in game.filters:
                    value = insert_into_first_page(value, "games", HISTORY_ORDER, game.summary, page.limit)
                    if value is None:
                        return DROP
            return value

        write_through(FAMILY["user_history"], user_id, [], ["user_history"], patch)


def stats_changed(events: list[StatsChanged]) -> None:
    """The new stats are written through, ordered by totalHands (an older update never wins); a
    repair may lower totalHands, so it drops the cached value instead."""
    for user_id, changes in _by_user(events).items():
        last = changes[-1]
        if any(c.repaired for c in changes):
            invalidate_user_caches(user_id, (FAMILY["user_stats"],))
        else:
            put_versioned(*Keys.user_stats(user_id), user_id, last.view, last.version)


def withdrawal_changed(events: list[WithdrawalChanged]) -> None:
    for user_id in _by_user(events):
        invalidate_user_caches(user_id, (FAMILY["wallet_summary"],))  # its pending withdrawals


def user_changed(events: list[UserChanged]) -> None:
    for user_id in _by_user(events):
        invalidate_user_caches(user_id, ALL_FAMILIES)
    if any(e.renamed for e in events):
        invalidate_leaderboards()  # a renamed player shows under the new name at once


def _families(event: Event) -> Families:
    if isinstance(event, (BalanceChanged, WithdrawalChanged)):
        return (FAMILY["wallet_summary"],)
    if isinstance(event, (GameEnded, StatsChanged)):
        return (FAMILY["user_history"],)
    return ALL_FAMILIES


def outcome_unknown(events: list[Event]) -> None:
    """The cached copies of what the transaction touched are unknown, not updated: unreachable."""
    cached = [e for e in events if not isinstance(e, DepositSeen)]  # nothing cached is derived from it
    for user_id, touched in _by_user(cached).items():
        families = tuple(dict.fromkeys(f for e in touched for f in _families(e)))
        invalidate_user_caches(user_id, families)
    if any(isinstance(e, UserChanged) and e.renamed for e in events):
        invalidate_leaderboards()


def install() -> None:
    """Subscribe the cache to the domain's events (each function does it once, via gbc.bootstrap);
    a transaction's write-throughs go to Redis together."""
    publish_within(batched)
    subscribe(BalanceChanged)(balance_changed)
    subscribe(GameEnded)(game_ended)
    subscribe(StatsChanged)(stats_changed)
    subscribe(WithdrawalChanged)(withdrawal_changed)
    subscribe(UserChanged)(user_changed)
    for event_type in EVENT_TYPES:
        subscribe(event_type, "outcome_unknown")(outcome_unknown)
