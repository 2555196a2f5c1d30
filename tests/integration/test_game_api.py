"""The game API: money moves with every step, settlement in the same transaction, clear 4xx for
everything a player can get wrong, the fairness reveal and verification."""

from __future__ import annotations

import json
import threading
import time
import uuid
from decimal import Decimal

from sqlalchemy import func, select

from gbc import blackjack
from gbc.data.models import Game, GameMove
from gbc.data.transaction import unit_of_work
from gbc.wallet.service import ledger_total
from tests.support.api import call_api
from tests.support.factories import make_funded_user
from tests.support.shoes import stack
from tests.support.sqs import receive


def _create(user, bet="10", **extra):
    return call_api("POST", "/api/game", body={"betAmount": bet, **extra}, user_id=user.id)


def _act(user, game_id, action, payload=None):
    body = {"gameId": game_id, "action": action, **({"payload": payload} if payload else {})}
    return call_api("POST", "/api/game/action", body=body, user_id=user.id)


def _balance_matches_ledger(user) -> Decimal:
    wallet = call_api("GET", "/api/wallet", user_id=user.id).body
    assert Decimal(wallet["balance"]) == ledger_total(user.id)
    return Decimal(wallet["balance"])


def test_bet_deal_stand_settle(db, services, monkeypatch):
    stack(monkeypatch, "10", "9", "Q", "8")  # player 20 vs dealer 17: player wins
    user = make_funded_user()
    created = _create(user, clientSeed="lucky")
    assert created.status == 201, created.body
    game = created.body
    assert game["state"] == "PLAYER_TURN" and game["balance"] == "90"
    assert game["fairness"]["clientSeed"] == "lucky" and "serverSeed" not in game["fairness"]
    assert "stand" in game["legalActions"]

    ended = _act(user, game["id"], "stand")
    assert ended.status == 200, ended.body
    assert ended.body["state"] == "ENDED" and ended.body["result"] == "WIN"
    assert ended.body["winAmount"] == "20" and ended.body["netProfit"] == "10" and ended.body["balance"] == "110"
    assert len(ended.body["fairness"]["serverSeed"]) == 64
    assert _balance_matches_ledger(user) == Decimal(110)
    # The round's jobs went out with the settlement.
    types = sorted(json.loads(m["Body"])["type"] for m in receive(services["queues"]["JobsQueue"]))
    assert types == ["audit:log", "stats:recompute"]


def test_double_down_charges_the_extra_stake(db, monkeypatch):
    stack(monkeypatch, "6", "10", "5", "7", "K")  # 11 vs 17, double, draw K = 21
    user = make_funded_user()
    game = _create(user).body
    doubled = _act(user, game["id"], "double_down")
    assert doubled.status == 200, doubled.body
    assert doubled.body["result"] == "WIN" and doubled.body["winAmount"] == "40" and doubled.body["balance"] == "120"
    assert _balance_matches_ledger(user) == Decimal(120)
    with unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(GameMove)) == 2


def test_a_double_you_cannot_afford_is_402_and_changes_nothing(db, monkeypatch):
    stack(monkeypatch, "6", "10", "5", "7", "K")
    user = make_funded_user("15")
    game = _create(user).body
    response = _act(user, game["id"], "double_down")
    assert response.status == 402
    again = call_api("GET", f"/api/game/{game['id']}", user_id=user.id).body
    assert again["state"] == "PLAYER_TURN" and again["hands"] == game["hands"]
    assert _balance_matches_ledger(user) == Decimal(5)


def test_insurance_against_an_ace(db, monkeypatch):
    stack(monkeypatch, "10", "A", "9", "K")  # dealer blackjack: insurance pays 2:1
    user = make_funded_user()
    game = _create(user).body
    assert game["phase"] == "INSURANCE"
    insured = _act(user, game["id"], "insurance", {"amount": "5"})
    assert insured.status == 200, insured.body
    # The hand lost, the insurance won 2:1: the round as a whole is a push.
    assert insured.body["state"] == "ENDED" and insured.body["result"] == "PUSH"
    # Lost 10 on the hand, won 10 net on insurance: back to 100.
    assert insured.body["balance"] == "100" and _balance_matches_ledger(user) == Decimal(100)


def test_wrong_moves_get_clear_answers(db, monkeypatch):
    stack(monkeypatch, "10", "9", "8", "8")  # 18 vs 17, not a pair
    user = make_funded_user()
    game = _create(user).body
    gid = game["id"]
    not_now = _act(user, gid, "split")
    assert not_now.status == 409 and "stand" in not_now.body["details"]["legalActions"]
    ace = _act(user, gid, "set_ace_value")
    assert ace.status == 400 and "soft totals" in ace.body["error"]
    assert _act(user, gid, "fly").status == 400
    assert _act(user, str(uuid.uuid4()), "stand").status == 404
    assert _act(make_funded_user(), gid, "stand").status == 404, "another player's game"
    assert _create(user).status == 409, "one game at a time"
    assert _act(user, gid, "stand").status == 200
    over = _act(user, gid, "stand")
    assert over.status == 409 and over.body["error"] == "game is over"


def test_bet_limits_and_balance(db):
    user = make_funded_user("5")
    assert _create(user, bet="0").status == 400
    too_big = _create(user, bet="10001")
    assert too_big.status == 400 and too_big.body["details"] == {"field": "betAmount"}
    assert _create(user, bet="6").status == 402
    assert _balance_matches_ledger(user) == Decimal(5)


def test_bets_accept_numbers_and_strings_exactly(db, monkeypatch):
    stack(monkeypatch, "10", "9", "Q", "8")
    user = make_funded_user()
    game = call_api("POST", "/api/game", body={"betAmount": 1.1}, user_id=user.id).body
    assert game["betAmount"] == "1.1" and game["balance"] == "98.9"


def test_fairness_verification(db):
    user = make_funded_user()
    game = _create(user).body
    if game["state"] != "ENDED":  # a natural can end the round at the deal
        assert call_api("GET", f"/api/game/{game['id']}/verify", user_id=user.id).status == 409
    current = game
    while current["state"] != "ENDED":
        current = _act(
            user, game["id"], "stand" if "stand" in current["legalActions"] else current["legalActions"][0]
        ).body
    verified = call_api("GET", f"/api/game/{game['id']}/verify", user_id=user.id)
    assert verified.status == 200 and verified.body["valid"] is True, (verified.body, current)
    assert verified.body["serverSeed"] and verified.body["checks"] == {"commitment": True, "replay": True}
    # Tamper with the stored round, even by only swapping the dealer's cards: verification notices.
    with unit_of_work() as uow:
        row = uow.session.get(Game, uuid.UUID(game["id"]))
        hands = dict(row.hands)
        dealer = hands["dealer"]
        # Reorder the dealer's cards when that changes them (same cards, other order; six decks can
        # deal a palindrome such as [10, 23, 10]), else change one.
        reordered = list(reversed(dealer))
        hands["dealer"] = reordered if reordered != dealer else [(dealer[0] + 1) % 52, *dealer[1:]]
        row.hands = hands
    tampered = call_api("GET", f"/api/game/{game['id']}/verify", user_id=user.id).body
    assert tampered["valid"] is False and tampered["checks"]["replay"] is False


def test_two_concurrent_actions_on_one_game_one_wins(db, monkeypatch):
    stack(monkeypatch, "10", "9", "Q", "8")
    user = make_funded_user()
    game = _create(user).body
    real_apply = blackjack.apply

    def slow_apply(*args, **kwargs):
        time.sleep(0.3)  # hold the game's lock long enough for the other request to arrive
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(blackjack, "apply", slow_apply)  # the service calls the engine through its package
    results: list[int] = []
    barrier = threading.Barrier(2)

    def play() -> None:
        barrier.wait()
        results.append(_act(user, game["id"], "stand").status)

    threads = [threading.Thread(target=play) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    assert _balance_matches_ledger(user) == Decimal(110)


# ---------------------------------------------------------------- resuming a game


def test_a_second_game_is_409_and_names_the_open_game(db, monkeypatch):
    stack(monkeypatch, "10", "9", "8", "8")  # 18 vs 17: the round waits for the player
    user = make_funded_user()
    game = _create(user).body
    second = _create(user)
    assert second.status == 409
    assert second.body == {
        "error": "finish your current game first",
        "details": {"field": "gameId", "gameId": game["id"]},
    }
    assert _balance_matches_ledger(user) == Decimal(90), "the refused bet was not charged"


def test_the_active_game_is_the_open_game_in_the_same_view_as_get_game(db, monkeypatch):
    stack(monkeypatch, "10", "9", "8", "8")
    user = make_funded_user()
    game = _create(user).body
    active = call_api("GET", "/api/game/active", user_id=user.id)
    assert active.status == 200, active.body
    assert active.body == call_api("GET", f"/api/game/{game['id']}", user_id=user.id).body
    assert active.body["id"] == game["id"] and active.body["state"] == "PLAYER_TURN"
    assert "serverSeed" not in active.body["fairness"], "the seed stays hidden until the end"
    assert active.body["dealer"]["cards"][-1] == "hidden" and active.body["hands"] == game["hands"]


def test_a_client_whose_response_was_lost_resumes_its_game_and_finishes_it(db, monkeypatch):
    stack(monkeypatch, "10", "9", "Q", "8")  # 20 vs 17
    user = make_funded_user()
    assert _create(user).status == 201  # ... and the client never saw this answer
    refused = _create(user)
    resumed = call_api("GET", "/api/game/active", user_id=user.id).body
    assert resumed["id"] == refused.body["details"]["gameId"]
    ended = _act(user, resumed["id"], "stand")
    assert ended.status == 200 and ended.body["result"] == "WIN"
    gone = call_api("GET", "/api/game/active", user_id=user.id)
    assert gone.status == 404 and gone.body == {"error": "no active game"}


def test_no_active_game_is_404_and_another_players_game_is_not_yours(db, monkeypatch):
    stack(monkeypatch, "10", "9", "8", "8")
    user, other = make_funded_user(), make_funded_user()
    none = call_api("GET", "/api/game/active", user_id=user.id)
    assert none.status == 404 and none.body == {"error": "no active game"}
    _create(other)
    assert call_api("GET", "/api/game/active", user_id=user.id).status == 404
    assert call_api("GET", "/api/game/active").status in (401, 403), "the route needs the caller"
