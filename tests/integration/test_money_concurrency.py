"""Many concurrent bets, purchases and withdrawals for one user: the balance never goes negative,
every success is paid for exactly once, and the ledger sums to the balance."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from sqlalchemy import select

from gbc.data.models import Transaction, TransactionType, User
from gbc.data.transaction import unit_of_work
from gbc.ledger import apply_balance_change
from gbc.wallet.service import ledger_total
from tests.support.api import call_api
from tests.support.factories import make_user


def test_concurrent_debits_never_overdraw(db, services):
    user = make_user()
    with unit_of_work() as uow:
        apply_balance_change(uow, user.id, TransactionType.ADMIN_ADJUSTMENT, Decimal(300), "seed")
    requests = (
        [("POST", "/api/store/purchase", {"itemId": "chips-ceramic"})] * 6  # 75 each
        + [("POST", "/api/withdraw", {"amount": 40, "walletAddress": user.wallet_address})] * 6
        + [("POST", "/api/game", {"betAmount": 50})] * 6
    )
    statuses: list[tuple[str, int]] = []
    lock = threading.Lock()

    def fire(request) -> None:
        method, path, body = request
        response = call_api(method, path, body=body, user_id=user.id)
        with lock:
            statuses.append((path, response.status))

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(fire, requests * 2))

    assert {status for _, status in statuses} <= {201, 402, 409}, statuses
    with unit_of_work() as uow:
        balance = uow.session.scalar(select(User.balance).where(User.id == user.id))
        rows = uow.session.scalars(select(Transaction).where(Transaction.user_id == user.id)).all()
    assert balance >= 0
    assert ledger_total(user.id) == balance
    # Every success is exactly one debit, and the running balances chain without gaps.
    debits = sum(1 for r in rows if r.amount < 0)
    assert debits == sum(1 for _, s in statuses if s == 201)
    chain = sorted(rows, key=lambda r: r.balance_before)
    assert all(r.balance_after >= 0 for r in chain)
    assert Decimal(300) - sum(-r.amount for r in rows if r.amount < 0) == balance
    assert sum(1 for p, s in statuses if p == "/api/game" and s == 201) <= 1, "one active game per user"
