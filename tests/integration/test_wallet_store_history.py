"""Wallet, ledger pages, store, deposit intents, withdrawal holds and history pages."""

from __future__ import annotations

import uuid
from decimal import Decimal

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import select

from gbc.data.models import GameResult, Purchase, TransactionType, Withdrawal, WithdrawalStatus
from gbc.data.transaction import unit_of_work
from gbc.ledger import apply_balance_change
from gbc.settings import get_settings
from gbc.wallet.service import ledger_total
from tests.support.api import call_api
from tests.support.factories import make_funded_user, make_user
from tests.support.games import add_ended_games


def test_store_catalog_is_public_and_seeded(db):
    response = call_api("GET", "/api/store/items")
    assert response.status == 200
    items = {i["id"]: i for i in response.body["items"]}
    assert items["table-royal"]["price"] == "100" and items["table-royal"]["category"] == "table_theme"
    assert len(items) == 9


def test_purchase_debits_and_records_atomically(db):
    user = make_funded_user("100")
    response = call_api("POST", "/api/store/purchase", body={"itemId": "chips-ceramic", "quantity": 1}, user_id=user.id)
    assert response.status == 201, response.body
    assert response.body["total"] == "75" and response.body["balance"] == "25"
    broke = call_api("POST", "/api/store/purchase", body={"itemId": "chips-ceramic"}, user_id=user.id)
    assert broke.status == 402 and broke.body["error"] == "insufficient balance"
    with unit_of_work() as uow:
        assert len(uow.session.scalars(select(Purchase)).all()) == 1
    assert ledger_total(user.id) == Decimal(25)


def test_purchase_validation_and_unknown_item(db):
    user = make_funded_user()
    bad = call_api(
        "POST", "/api/store/purchase", body={"itemId": "x", "quantity": 0, "currency": "ETH"}, user_id=user.id
    )
    assert bad.status == 400
    assert sorted(bad.body["details"]) == [
        "currency: Input should be 'GBC'",
        "quantity: Input should be greater than or equal to 1",
    ]
    missing = call_api("POST", "/api/store/purchase", body={"itemId": "nope"}, user_id=user.id)
    assert missing.status == 404


def test_wallet_summary_and_ledger_pages(db):
    user = make_funded_user("10")
    for i in range(5):
        with unit_of_work() as uow:
            apply_balance_change(uow, user.id, TransactionType.ADMIN_ADJUSTMENT, Decimal(1), f"adj:{i}")
    wallet = call_api("GET", "/api/wallet", user_id=user.id)
    assert wallet.status == 200 and wallet.body["balance"] == "15" and wallet.body["pendingWithdrawals"] == []

    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = call_api("GET", "/api/transactions", query=query, user_id=user.id)
        assert page.status == 200
        seen += page.body["transactions"]
        cursor = page.body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and len({t["id"] for t in seen}) == 6
    assert [t["balanceAfter"] for t in seen] == ["15", "14", "13", "12", "11", "10"]


def test_bad_cursor_and_limit_are_400(db):
    user = make_user()
    assert call_api("GET", "/api/transactions", query={"cursor": "!!!"}, user_id=user.id).status == 400
    response = call_api("GET", "/api/history", query={"limit": "101"}, user_id=user.id)
    assert response.status == 400 and response.body["details"] == ["limit: Input should be less than or equal to 100"]
    response = call_api("GET", "/api/history", query={"resultFilter": "MAYBE"}, user_id=user.id)
    assert response.status == 400


def test_history_pages_filters_and_stats(db):
    user = make_user()
    add_ended_games(
        user.id, [GameResult.WIN, GameResult.LOSE, GameResult.SURRENDER, GameResult.PUSH, GameResult.BLACKJACK]
    )
    first = call_api("GET", "/api/history", query={"limit": "3"}, user_id=user.id)
    assert first.status == 200
    assert [g["result"] for g in first.body["games"]] == ["WIN", "LOSE", "SURRENDER"]
    second = call_api("GET", "/api/history", query={"limit": "3", "cursor": first.body["nextCursor"]}, user_id=user.id)
    assert [g["result"] for g in second.body["games"]] == ["PUSH", "BLACKJACK"] and second.body["nextCursor"] is None
    losses = call_api("GET", "/api/history", query={"resultFilter": "LOSE"}, user_id=user.id)
    assert [g["result"] for g in losses.body["games"]] == ["LOSE", "SURRENDER"]
    assert first.body["stats"]["totalHands"] == 5 and first.body["stats"]["wins"] == 2
    stats = call_api("GET", "/api/stats", user_id=user.id)
    assert stats.body == first.body["stats"]


def test_the_result_filter_is_accepted_in_any_case(db):
    """The seed's clients send `win`, `Win` or `ALL` as well as the documented spelling."""
    user = make_user()
    add_ended_games(user.id, [GameResult.WIN, GameResult.LOSE, GameResult.BLACKJACK])
    for spelling in ("win", "Win", "WIN"):
        page = call_api("GET", "/api/history", query={"resultFilter": spelling}, user_id=user.id)
        assert page.status == 200 and [g["result"] for g in page.body["games"]] == ["WIN"]
    for spelling in ("ALL", "All", "all"):
        page = call_api("GET", "/api/history", query={"resultFilter": spelling}, user_id=user.id)
        assert page.status == 200 and len(page.body["games"]) == 3
    refused = call_api("GET", "/api/history", query={"resultFilter": "wins"}, user_id=user.id)
    assert refused.status == 400 and refused.body["details"][0].startswith("resultFilter:")


def test_history_userid_must_be_the_caller(db):
    user = make_user()
    response = call_api("GET", "/api/history", query={"userId": str(uuid.uuid4())}, user_id=user.id)
    assert response.status == 403


def test_deposit_intent_tells_how_to_deposit(db):
    user = make_user()
    response = call_api("POST", "/api/deposit", body={"amount": "12.5", "currency": "GBC"}, user_id=user.id)
    assert response.status == 201
    assert response.body["amountWei"] == str(125 * 10**17)
    assert [s["call"] for s in response.body["steps"]] == ["approve(address,uint256)", "deposit(uint256)"]
    assert call_api("POST", "/api/deposit", body={"amount": -1}, user_id=user.id).status == 400


def test_deposit_answers_503_when_no_vault_is_configured(db, monkeypatch):
    # The local stack without Node.js has no chain, and the template's default is the zero address.
    monkeypatch.setenv("VAULT_ADDRESS", "0x" + "0" * 40)
    get_settings.cache_clear()
    try:
        user = make_user()
        response = call_api("POST", "/api/deposit", body={"amount": "5", "currency": "GBC"}, user_id=user.id)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert response.status == 503 and "no vault contract is configured" in response.body["error"]


def test_withdrawal_holds_funds_and_signs_a_voucher(db):
    user = make_funded_user("50")
    address = "0x" + user.wallet_address[2:].upper()
    response = call_api("POST", "/api/withdraw", body={"amount": 20, "walletAddress": address}, user_id=user.id)
    assert response.status == 201, response.body
    assert response.body["balance"] == "30"
    voucher = response.body["voucher"]
    message = {
        **voucher["message"],
        "amount": int(voucher["message"]["amount"]),
        "nonce": int(voucher["message"]["nonce"]),
    }
    signable = encode_typed_data(domain_data=voucher["domain"], message_types=voucher["types"], message_data=message)
    assert Account.recover_message(signable, signature=voucher["signature"]) == voucher["signer"]
    assert message["amount"] == 20 * 10**18
    with unit_of_work() as uow:
        withdrawal = uow.session.scalars(select(Withdrawal)).one()
    assert withdrawal.status is WithdrawalStatus.PENDING and withdrawal.signature == voucher["signature"]
    wallet = call_api("GET", "/api/wallet", user_id=user.id).body
    assert wallet["pendingWithdrawalTotal"] == "20" and wallet["totalWithdrawn"] == "20"
    assert ledger_total(user.id) == Decimal(30)


def test_withdrawal_refusals(db):
    user = make_funded_user("5")
    other = "0x" + "12" * 20
    assert call_api("POST", "/api/withdraw", body={"amount": 1, "walletAddress": other}, user_id=user.id).status == 400
    too_much = call_api(
        "POST", "/api/withdraw", body={"amount": 6, "walletAddress": user.wallet_address}, user_id=user.id
    )
    assert too_much.status == 402
    with unit_of_work() as uow:
        assert uow.session.scalars(select(Withdrawal)).all() == []


def test_leaderboard_ranks_by_net_profit_per_period(db):
    from datetime import UTC, datetime, timedelta

    from gbc.data.models import Game

    winner, loser, old_timer = make_user(username="winner"), make_user(), make_user()
    add_ended_games(winner.id, [GameResult.WIN, GameResult.BLACKJACK])
    add_ended_games(loser.id, [GameResult.LOSE])
    add_ended_games(old_timer.id, [GameResult.WIN] * 5)
    with unit_of_work() as uow:  # the old timer's wins were long ago
        for game in uow.session.scalars(select(Game).where(Game.user_id == old_timer.id)):
            game.ended_at = datetime.now(UTC) - timedelta(days=30)
    daily = call_api("GET", "/api/leaderboard", query={"period": "daily"})
    assert daily.status == 200
    assert [p["netProfit"] for p in daily.body["players"]] == ["25", "-10"]
    assert daily.body["players"][0]["username"] == "winner" and daily.body["players"][0]["rank"] == 1
    everyone = call_api("GET", "/api/leaderboard", query={"period": "all"}).body
    assert everyone["players"][0]["netProfit"] == "50"
    assert call_api("GET", "/api/leaderboard", query={"period": "monthly"}).status == 400
