"""Real players: a fresh wallet signs in with Sign-In with Ethereum over HTTP, and gets a balance
through a ledger row (ADMIN_ADJUSTMENT) written the way gbc.ledger writes one, so the ledger still
sums to the balance. Funding happens before the player's first read, so no cached wallet is stale."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, create_engine, text

from reliability.client import Client

FUND = text(
    """
    WITH changed AS (
        UPDATE users SET balance = balance + :amount, balance_version = balance_version + 1
        WHERE id = :user_id RETURNING balance
    )
    INSERT INTO transactions (id, user_id, type, amount, balance_before, balance_after, reference_id, status)
    SELECT :entry_id, :user_id, 'ADMIN_ADJUSTMENT', :amount, balance - :amount, balance, :reference, 'COMPLETED'
    FROM changed
    """
)


@dataclass
class Player:
    token: str
    user_id: uuid.UUID
    address: str  # checksummed, as the API returns it
    games: set[str] = field(default_factory=set)
    ledger_ids: set[str] = field(default_factory=set)


def sign_in(client: Client, account: Any | None = None) -> Player:
    from eth_account import Account
    from eth_account.messages import encode_defunct

    account = account or Account.create()
    grant = client.post("/api/auth/nonce", {"address": account.address})
    if grant.status != 201:
        raise RuntimeError(f"nonce: {grant.status} {grant.body}")
    message = grant.body["message"]
    signature = "0x" + account.sign_message(encode_defunct(text=message)).signature.hex().removeprefix("0x")
    session = client.post("/api/auth/verify", {"message": message, "signature": signature})
    if session.status != 200:
        raise RuntimeError(f"verify: {session.status} {session.body}")
    user = session.body["user"]
    return Player(session.body["token"], uuid.UUID(user["id"]), user["walletAddress"])


def database(env: dict[str, str]) -> Engine:
    return create_engine(env["DATABASE_URL"], pool_size=4, pool_pre_ping=True)


def fund(engine: Engine, players: list[Player], amount: Decimal) -> None:
    with engine.begin() as conn:
        for player in players:
            conn.execute(
                FUND,
                {
                    "amount": amount,
                    "user_id": player.user_id,
                    "entry_id": uuid.uuid4(),
                    "reference": f"reliability:fund:{player.user_id}",
                },
            )


def sign_in_many(
    client: Client, count: int, engine: Engine | None = None, balance: Decimal | None = None
) -> list[Player]:
    with ThreadPoolExecutor(max_workers=min(count, 16)) as pool:
        players = list(pool.map(lambda _: sign_in(client), range(count)))
    if engine is not None and balance:
        fund(engine, players, balance)
    return players
