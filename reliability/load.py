"""Concurrent players doing the full mix in a loop: rounds with every action the game offers
(hit, stand, double_down, insurance, split, surrender, split_hit, split_stand, as `legalActions`
allow), wallet, history with cursors and filters, stats, the ledger followed through its cursors,
store purchases, withdrawals and user updates. One thread per player, as a player plays one game
at a time."""

# ruff: noqa: S311 - the players' dice need no secrecy
from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from reliability.client import Client, Response
from reliability.players import Player

BETS = ["1", "2", "5", "10", "2.5", "1.25"]
FILTERS = ["all", "WIN", "LOSE", "PUSH", "BLACKJACK"]
# How eagerly an offered action is taken; the rest of the time hit/stand follow the hand's total.
EAGER = {"insurance": 0.6, "split": 0.8, "double_down": 0.25, "surrender": 0.1}


@dataclass
class LoadResult:
    duration: float = 0.0
    rounds: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str, counter: str = "actions") -> None:
        with self.lock:
            getattr(self, counter)[what] += 1

    def summary(self) -> dict[str, Any]:
        return {
            "durationSeconds": round(self.duration, 1),
            "rounds": self.rounds,
            "actions": dict(sorted(self.actions.items())),
            "unexpectedStatuses": dict(sorted(self.unexpected.items())),
            "driverErrors": self.errors[:20],
        }


def _choose(game: dict[str, Any], rng: random.Random) -> str:
    legal: list[str] = game["legalActions"]
    for action, chance in EAGER.items():
        if action in legal and rng.random() < chance:
            return action
    hand = game["hands"][game["activeHand"]] if game.get("activeHand") is not None else game["hands"][0]
    total = int(hand.get("total") or 0)
    want_hit = total < 12 or (total < 17 and rng.random() < 0.5)
    # After a split both spellings are offered: use either, so split_hit/split_stand get exercised too.
    pairs = [(h, s) for h, s in (("hit", "stand"), ("split_hit", "split_stand")) if h in legal and s in legal]
    if pairs:
        hit, stand = rng.choice(pairs)
        return hit if want_hit else stand
    options = [a for a in legal if a not in EAGER] or legal
    return rng.choice(options)


class LoadPlayer:
    def __init__(self, client: Client, player: Player, engine: Engine, result: LoadResult, seed: int) -> None:
        self.client, self.player, self.engine, self.result = client, player, engine, result
        self.rng = random.Random(seed)
        self.items: list[dict[str, Any]] = []

    @property
    def token(self) -> str:
        return self.player.token

    def _expect(self, response: Response, *ok: int) -> bool:
        """Statuses outside `ok` and the game's documented 4xx are counted (5xx also in the tally)."""
        if response.status in ok:
            return True
        if response.status < 500:
            self.result.count(f"{response.status} {response.body!r:.120}", "unexpected")
        else:
            time.sleep(0.1)  # an outage: do not spin
        return False

    def _active_game(self) -> str | None:
        """After an interrupted request (a 5xx, a killed container) the game may exist without us
        knowing its id: the database knows."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    text("SELECT id FROM games WHERE user_id = :u AND ended_at IS NULL"), {"u": self.player.user_id}
                ).first()
        except Exception:
            return None
        return str(row[0]) if row else None

    def _game(self, game_id: str) -> dict[str, Any] | None:
        response = self.client.get(f"/api/game/{game_id}", self.token)
        return response.body if response.status == 200 else None

    def play_round(self) -> None:
        created = self.client.post(
            "/api/game", {"betAmount": self.rng.choice(BETS), "clientSeed": uuid.uuid4().hex[:16]}, self.token
        )
        if created.status == 201:
            game: dict[str, Any] | None = created.body
        elif created.status == 409 or created.status >= 500:
            if created.status >= 500:
                time.sleep(0.1)
            game_id = self._active_game()
            game = self._game(game_id) if game_id else None
        else:
            self._expect(created, 201)
            return
        if game is None:
            return
        self.player.games.add(game["id"])
        for _ in range(40):
            if game["state"] == "ENDED":
                with self.result.lock:
                    self.result.rounds += 1
                return
            action = _choose(game, self.rng)
            body: dict[str, Any] = {"gameId": game["id"], "action": action}
            if action == "insurance" and self.rng.random() < 0.5:
                body["payload"] = {"amount": str(Decimal(game["betAmount"]) / 4)}
            answer = self.client.post("/api/game/action", body, self.token)
            self.result.count(action)
            if answer.status == 200:
                game = answer.body
                continue
            # The action may or may not have applied: read the game again.
            if answer.status != 409:
                self._expect(answer, 200)
            again = self._game(game["id"])
            if again is None:
                return
            game = again

    def read_history(self) -> None:
        limit = self.rng.randint(1, 20)
        query = f"/api/history?limit={limit}&resultFilter={self.rng.choice(FILTERS)}"
        for _ in range(3):
            page = self.client.get(query, self.token)
            if not self._expect(page, 200) or not page.body.get("nextCursor"):
                return
            query = f"/api/history?limit={limit}&cursor={page.body['nextCursor']}"

    def read_ledger(self) -> None:
        limit = self.rng.choice([5, 20, 50])
        cursor = None
        for _ in range(5):
            page = self.client.get(
                f"/api/transactions?limit={limit}" + (f"&cursor={cursor}" if cursor else ""), self.token
            )
            if not self._expect(page, 200):
                return
            self.player.ledger_ids.update(t["id"] for t in page.body["transactions"])
            cursor = page.body.get("nextCursor")
            if not cursor:
                return

    def buy(self) -> None:
        if not self.items:
            listed = self.client.get("/api/store/items")
            if not self._expect(listed, 200):
                return
            self.items = listed.body["items"]
        item = self.rng.choice(self.items)
        self._expect(
            self.client.post(
                "/api/store/purchase", {"itemId": item["id"], "quantity": self.rng.randint(1, 2)}, self.token
            ),
            201,
            402,
        )

    def withdraw(self) -> None:
        body = {"amount": self.rng.choice(["1", "0.5"]), "walletAddress": self.player.address}
        self._expect(self.client.post("/api/withdraw", body, self.token), 201, 402)

    def update_user(self) -> None:
        body: dict[str, Any] = {"settings": {"soundEnabled": self.rng.random() < 0.5, "musicEnabled": False}}
        if self.rng.random() < 0.3:
            body["username"] = f"p{uuid.uuid4().hex[:12]}"
        self._expect(self.client.request("PATCH", "/api/user", body, self.token), 200, 409)

    def step(self) -> None:
        self.play_round()
        rng = self.rng
        if rng.random() < 0.5:
            self._expect(self.client.get("/api/wallet", self.token), 200)
        if rng.random() < 0.3:
            self.read_history()
        if rng.random() < 0.2:
            self._expect(self.client.get("/api/stats", self.token), 200)
        if rng.random() < 0.3:
            self.read_ledger()
        if rng.random() < 0.1:
            self.buy()
        if rng.random() < 0.05:
            self.withdraw()
        if rng.random() < 0.05:
            self.update_user()
        if self.player.games and rng.random() < 0.1:
            game_id = rng.choice(sorted(self.player.games))
            self._expect(self.client.get(f"/api/game/{game_id}", self.token), 200)

    def run(self, until: float, stop: threading.Event) -> None:
        while time.monotonic() < until and not stop.is_set():
            try:
                self.step()
            except Exception as exc:  # a transport error or a driver bug: recorded, the player goes on
                with self.result.lock:
                    self.result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                time.sleep(0.2)


def run_load(
    client: Client,
    players: list[Player],
    engine: Engine,
    seconds: float,
    stop: threading.Event | None = None,
    seed: int = 1,
) -> LoadResult:
    result = LoadResult()
    stop = stop or threading.Event()
    started = time.monotonic()
    until = started + seconds
    drivers = [LoadPlayer(client, p, engine, result, seed * 1000 + i) for i, p in enumerate(players)]
    with ThreadPoolExecutor(max_workers=len(drivers)) as pool:
        for future in [pool.submit(d.run, until, stop) for d in drivers]:
            future.result()
    result.duration = time.monotonic() - started
    return result
