"""The domain's committed events as push messages `{userId, type, data, at}`, sent to the events
queue after the response (gbc.after_response) for the users who may be listening
(gbc.realtime.listeners): the notifier function delivers them.

    BalanceChanged       balance.changed  {balance, entry}; and deposit.credited / faucet.credited
    GameEnded            game.ended       {game}: the ended game's view
    WithdrawalChanged    withdrawal.completed {withdrawal}, once paid on chain
    DepositSeen          deposit.seen     {amount, txHash}: the poller stored the log, not yet credited
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from gbc.after_response import defer
from gbc.events import BalanceChanged, DepositSeen, GameEnded, WithdrawalChanged, publish_within, subscribe
from gbc.money import money_str
from gbc.observability import logger
from gbc.realtime.listeners import listening
from gbc.settings import get_settings

CREDITED = {"DEPOSIT": "deposit.credited", "FAUCET": "faucet.credited"}


def message(user_id: uuid.UUID | str, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"userId": str(user_id), "type": type_, "data": data, "at": datetime.now(UTC).isoformat()}


def balance_changed(events: list[BalanceChanged]) -> None:
    """One balance.changed a user and transaction: the newest balance (a round that ends at its deal
    moves it twice), with its version, since the queue does not keep order: a client ignores a
    version older than one it has shown."""
    messages = []
    newest: dict[uuid.UUID, BalanceChanged] = {}
    for e in events:
        if e.user_id not in newest or e.version > newest[e.user_id].version:
            newest[e.user_id] = e
        if e.type in CREDITED:
            messages.append(message(e.user_id, CREDITED[e.type], {"amount": e.entry.get("amount"), "entry": e.entry}))
    for e in newest.values():
        data = {"balance": money_str(e.balance), "version": e.version, "entry": e.entry}
        messages.append(message(e.user_id, "balance.changed", data))
    _send_later(messages)


def game_ended(events: list[GameEnded]) -> None:
    _send_later([message(e.user_id, "game.ended", {"game": e.view}) for e in events])


def withdrawal_changed(events: list[WithdrawalChanged]) -> None:
    paid = [e for e in events if e.withdrawal and e.withdrawal.get("status") == "COMPLETED"]
    _send_later([message(e.user_id, "withdrawal.completed", {"withdrawal": e.withdrawal}) for e in paid])


def deposit_seen(events: list[DepositSeen]) -> None:
    owners = _users_of({e.account for e in events})
    _send_later(
        [
            message(owners[e.account], "deposit.seen", {"amount": money_str(e.amount), "txHash": e.tx_hash})
            for e in events
            if e.account in owners  # a deposit from an address nobody signed in with: nobody to tell
        ]
    )


def _users_of(accounts: set[str]) -> dict[str, uuid.UUID]:
    from sqlalchemy import select

    from gbc.data.models import User
    from gbc.data.transaction import unit_of_work

    with unit_of_work() as uow:
        rows = uow.session.execute(select(User.wallet_address, User.id).where(User.wallet_address.in_(accounts)))
        return {address: user_id for address, user_id in rows}


_collected: ContextVar[list[dict[str, Any]] | None] = ContextVar("realtime_pushes", default=None)


@contextmanager
def one_send_a_transaction() -> Iterator[None]:
    """The pushes of one transaction's events (a round's end: game.ended and balance.changed) leave
    together: one listener check and one send after the response (events.publish_within)."""
    if _collected.get() is not None:
        yield
        return
    messages: list[dict[str, Any]] = []
    token = _collected.set(messages)
    try:
        yield
    finally:
        _collected.reset(token)
        if messages:
            defer(partial(_send_to_listeners, messages))  # after the response: even the check is off the path


def _send_later(messages: list[dict[str, Any]]) -> None:
    if not messages or not get_settings().events_queue_url:
        return
    collected = _collected.get()
    if collected is not None:
        collected.extend(messages)
    else:
        defer(partial(_send_to_listeners, messages))


def _send_to_listeners(messages: list[dict[str, Any]]) -> None:
    listeners = listening(m["userId"] for m in messages)  # who took a ticket lately (gbc.realtime.listeners)
    for_listeners = [m for m in messages if m["userId"] in listeners]
    if for_listeners:
        send(for_listeners)


@lru_cache(maxsize=1)
def _queue_url() -> str:
    return str(get_settings().events_queue_url)


def send(messages: list[dict[str, Any]]) -> None:
    """To the events queue, 10 a call. A push that cannot be sent is dropped (logged): it is a hint."""
    from gbc.queue.publisher import SQS_BATCH
    from gbc.queue.sqs import sqs_client

    try:
        for start in range(0, len(messages), SQS_BATCH):
            batch = messages[start : start + SQS_BATCH]
            sqs_client().send_message_batch(
                QueueUrl=_queue_url(),
                Entries=[{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(batch)],
            )
    except (BotoCoreError, ClientError) as exc:
        logger.warning("[Realtime] pushes not sent", extra={"pushes": len(messages), "error": repr(exc)})


def install() -> None:
    """Subscribe the pushes to the domain's events (gbc.bootstrap)."""
    subscribe(BalanceChanged)(balance_changed)
    subscribe(GameEnded)(game_ended)
    subscribe(WithdrawalChanged)(withdrawal_changed)
    subscribe(DepositSeen)(deposit_seen)
    publish_within(one_send_a_transaction)
