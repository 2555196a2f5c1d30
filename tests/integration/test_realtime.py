"""Realtime pushes in-process: tickets are single-use and expire; a commit is pushed only for a user
who took a ticket lately (gbc.realtime.listeners), as `{userId, type, data, at}` on the events queue;
the notifier forgets a connection the @connections API says is gone."""

from __future__ import annotations

import json
import time
import uuid

from botocore.exceptions import ClientError

from gbc.realtime import notifier, store
from tests.support.api import call_api
from tests.support.factories import make_funded_user
from tests.support.sqs import receive


def _play_a_round(user_id: uuid.UUID) -> dict:
    game = call_api("POST", "/api/game", body={"betAmount": "1"}, user_id=user_id).body
    while game["state"] != "ENDED":
        body = {"gameId": game["id"], "action": "stand"}
        game = call_api("POST", "/api/game/action", body=body, user_id=user_id).body
    return game


def _pushes(services) -> list[dict]:
    found: list[dict] = []
    while batch := receive(services["queues"]["EventsQueue"]):
        found += [json.loads(m["Body"]) for m in batch]
    return found


def test_a_ticket_is_redeemed_once_and_not_after_it_expires(db, services, monkeypatch):
    user = uuid.uuid4()
    ticket = store.issue_ticket(user)
    assert store.redeem_ticket(ticket.ticket) == user
    assert store.redeem_ticket(ticket.ticket) is None, "single use"
    assert store.redeem_ticket("") is None and store.redeem_ticket("x" * 500) is None
    late = store.issue_ticket(user)
    monkeypatch.setattr(time, "time", lambda: late.expires_at + 1.0)
    assert store.redeem_ticket(late.ticket) is None, "expired"


def test_only_a_user_who_took_a_ticket_has_their_commits_pushed(db, services):
    user = make_funded_user("100")
    _play_a_round(user.id)
    assert _pushes(services) == [], "nobody listens: no send, no notifier run"
    grant = call_api("POST", "/api/realtime/ticket", user_id=user.id)
    assert grant.status == 201 and set(grant.body) == {"url", "ticket", "expiresAt"}
    game = _play_a_round(user.id)
    pushes = _pushes(services)
    assert {p["userId"] for p in pushes} == {str(user.id)}
    ended = [p for p in pushes if p["type"] == "game.ended"]
    assert len(ended) == 1 and ended[0]["data"]["game"]["id"] == game["id"]
    balances = [p["data"]["balance"] for p in pushes if p["type"] == "balance.changed"]
    assert balances and balances[-1] == game["balance"]
    assert all(set(p) == {"userId", "type", "data", "at"} for p in pushes)


class _Gone:
    def __init__(self) -> None:
        self.posted: list[str] = []

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:
        if ConnectionId == "gone":
            raise ClientError({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")
        self.posted.append(ConnectionId)


def test_the_notifier_posts_to_every_connection_and_forgets_a_gone_one(db, services, monkeypatch):
    user = uuid.uuid4()
    store.add_connection("live", user)
    store.add_connection("gone", user)
    management = _Gone()
    monkeypatch.setattr(notifier, "_management", lambda: management)
    push = {"userId": str(user), "type": "balance.changed", "data": {"balance": "1"}, "at": "now"}
    assert notifier.deliver(push) == 1
    assert management.posted == ["live"]
    assert store.connections_of(user) == ["live"]
    store.remove_connection("live")
    assert store.connections_of(user) == []


def test_every_kind_of_event_becomes_its_push(monkeypatch):
    """The six push types from the domain's events: one balance.changed a transaction (the newest),
    the credits named after their source, a paid withdrawal, and a deposit the poller saw."""
    from decimal import Decimal

    from gbc.events import BalanceChanged, DepositSeen, GameEnded, WithdrawalChanged
    from gbc.realtime import pushes

    sent: list[dict] = []
    monkeypatch.setattr(pushes, "_send_later", sent.extend)
    user = uuid.uuid4()

    def change(kind: str, version: int, balance: str) -> BalanceChanged:
        entry = {"type": kind, "amount": "5"}
        return BalanceChanged(user, kind, entry, version, Decimal(balance), Decimal(0), Decimal(0))

    pushes.balance_changed([change("GAME_BET", 7, "95"), change("GAME_WIN", 8, "105")])
    pushes.balance_changed([change("DEPOSIT", 9, "110")])
    pushes.balance_changed([change("FAUCET", 10, "115")])
    game = GameEnded(user, uuid.uuid4(), {"id": "g"}, {}, frozenset({"all"}))
    pushes.game_ended([game])
    paid = {"id": "w", "status": "COMPLETED", "amount": "5", "txHash": "0xab"}
    pushes.withdrawal_changed([WithdrawalChanged(user), WithdrawalChanged(user, withdrawal=paid)])
    monkeypatch.setattr(pushes, "_users_of", lambda accounts: {"0xaa": user})
    pushes.deposit_seen([DepositSeen("0xaa", Decimal("5"), "0xcd"), DepositSeen("0xbb", Decimal(1), "0xef")])

    kinds = [(p["type"], p["data"].get("balance") or p["data"].get("amount")) for p in sent]
    assert kinds == [
        ("balance.changed", "105"),  # the newest of the transaction only
        ("deposit.credited", "5"),
        ("balance.changed", "110"),
        ("faucet.credited", "5"),
        ("balance.changed", "115"),
        ("game.ended", None),
        ("withdrawal.completed", None),  # the paid one; the other changed only the pending list
        ("deposit.seen", "5"),  # 0xbb signed in with nobody: no push
    ]
    assert sent[0]["data"]["version"] == 8 and {p["userId"] for p in sent} == {str(user)}
    assert sent[-2]["data"]["withdrawal"]["txHash"] == "0xab"


def test_a_transactions_pushes_leave_in_one_send(monkeypatch, db):
    """A round's end publishes game.ended and balance.changed: one listener check and one send."""
    from decimal import Decimal

    from gbc.events import BalanceChanged, GameEnded, publish
    from gbc.realtime import pushes

    sends: list[list[dict]] = []
    monkeypatch.setattr(pushes, "_send_to_listeners", sends.append)
    user = uuid.uuid4()
    change = BalanceChanged(user, "GAME_WIN", {"amount": "2"}, 3, Decimal(102), Decimal(0), Decimal(0))
    publish([change, GameEnded(user, uuid.uuid4(), {"id": "g"}, {}, frozenset({"all"}))])
    assert [sorted(m["type"] for m in batch) for batch in sends] == [["balance.changed", "game.ended"]]
