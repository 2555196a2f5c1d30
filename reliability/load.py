"""Concurrent players doing the full mix in a loop: rounds with every action the game offers
(hit, stand, double_down, insurance, split, surrender, split_hit, split_stand, as `legalActions`
allow), wallet, history with cursors and filters, stats, the ledger followed through its cursors,
store purchases, deposit intents, withdrawals and user updates. One thread per player, as a player
plays one game at a time.

Two kinds of player, so both paths of the API stay exercised: careful ones (two in three) send a
fresh Idempotency-Key per intended change and retry it with the same key (RetryPolicy), reads too;
the others send no key and never retry. Every change and its final answer is kept in the player's
`ClientRecord`, which the invariants compare with what the database holds."""

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

from sqlalchemy import Engine

from reliability.client import Client, Response, RetryPolicy
from reliability.players import Player

BETS = ["1", "2", "5", "10", "2.5", "1.25"]
FILTERS = ["all", "WIN", "LOSE", "PUSH", "BLACKJACK"]
# How eagerly an offered action is taken; the rest of the time hit/stand follow the hand's total.
EAGER = {"insurance": 0.6, "split": 0.8, "double_down": 0.25, "surrender": 0.1}


CAREFUL_EVERY = 3  # players i % 3 != 2 are careful: two in three


@dataclass
class Change:
    """One intended state change and the final answer the client got for it (after any retries)."""

    kind: str  # game, action, purchase, deposit, withdrawal, user
    key: str | None
    status: int | None  # None: no answer at all
    body: Any = None
    replayed: bool = False
    game_id: str | None = None  # actions

    @property
    def applied(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def unknown(self) -> bool:
        """The client cannot tell whether it took effect (no answer, or a 5xx)."""
        return self.status is None or self.status >= 500


@dataclass
class ClientRecord:
    """What one player knows: its changes, and per game the moves answered 200 and its last view."""

    player: Player
    careful: bool
    changes: list[Change] = field(default_factory=list)
    moves: dict[str, list[str]] = field(default_factory=dict)
    unknown_moves: Counter[str] = field(default_factory=Counter)
    # The last view of each game; None while an action's outcome is unknown (until a fresh read).
    views: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def saw(self, game: dict[str, Any]) -> None:
        self.moves.setdefault(game["id"], ["deal"])
        self.views[game["id"]] = game


@dataclass
class LoadResult:
    duration: float = 0.0
    rounds: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    records: list[ClientRecord] = field(default_factory=list)
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
            "clients": {
                "careful": sum(1 for r in self.records if r.careful),
                "keyless": sum(1 for r in self.records if not r.careful),
            },
            "changes": {
                kind: dict(sorted(Counter(_outcome(c) for c in changes).items()))
                for kind, changes in sorted(
                    {
                        k: [c for r in self.records for c in r.changes if ("keyed" if c.key else "keyless") == k]
                        for k in ("keyed", "keyless")
                    }.items()
                )
            },
        }


def _outcome(change: Change) -> str:
    return "no answer" if change.status is None else str(change.status)


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
    def __init__(
        self, client: Client, player: Player, engine: Engine, result: LoadResult, seed: int, careful: bool = True
    ) -> None:
        self.client, self.player, self.engine, self.result = client, player, engine, result
        self.rng = random.Random(seed)
        self.items: list[dict[str, Any]] = []
        self.record = ClientRecord(player, careful)
        self.retry = RetryPolicy() if careful else None

    @property
    def token(self) -> str:
        return self.player.token

    def _expect(self, response: Response | None, *ok: int) -> bool:
        """Statuses outside `ok` and the game's documented 4xx are counted (5xx also in the tally)."""
        if response is not None and response.status in ok:
            return True
        if response is not None and response.status < 500:
            self.result.count(f"{response.status} {response.body!r:.120}", "unexpected")
        else:
            time.sleep(0.1)  # an outage: do not spin
        return False

    def _get(self, path: str, token: bool = True) -> Response | None:
        return self.client.send("GET", path, token=self.token if token else None, retry=self.retry)

    def _change(self, kind: str, method: str, path: str, body: dict[str, Any], **extra: Any) -> Response | None:
        """A state change: a fresh key per intended change when careful; recorded with its final answer."""
        key = str(uuid.uuid4()) if self.record.careful else None
        answer = self.client.send(method, path, body, self.token, key=key, retry=self.retry)
        self.record.changes.append(
            Change(
                kind,
                key,
                answer.status if answer else None,
                answer.body if answer else None,
                bool(answer and answer.replayed),
                **extra,
            )
        )
        return answer

    def _game(self, game_id: str) -> dict[str, Any] | None:
        response = self._get(f"/api/game/{game_id}")
        if response is None or response.status != 200:
            return None
        self.record.saw(response.body)
        return response.body

    def _active_game(self) -> dict[str, Any] | None:
        """After an interrupted create the game may exist without us knowing its id: the API says
        (GET /api/game/active, the documented way to resume)."""
        response = self._get("/api/game/active")
        if response is None or response.status != 200:
            return None
        self.record.saw(response.body)
        return response.body

    def play_round(self) -> None:
        body = {"betAmount": self.rng.choice(BETS), "clientSeed": uuid.uuid4().hex[:16]}
        created = self._change("game", "POST", "/api/game", body)
        game: dict[str, Any] | None
        if created is not None and created.status == 201:
            game = created.body
            self.record.saw(created.body)
        elif created is not None and created.status == 409:
            details = created.body.get("details") if isinstance(created.body, dict) else None
            open_id = details.get("gameId") if isinstance(details, dict) else None
            game = self._game(open_id) if open_id else self._active_game()
        elif created is None or created.status >= 500:
            time.sleep(0.1)
            game = self._active_game()
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
            body = {"gameId": game["id"], "action": action}
            if action == "insurance" and self.rng.random() < 0.5:
                body["payload"] = {"amount": str(Decimal(game["betAmount"]) / 4)}
            answer = self._change("action", "POST", "/api/game/action", body, game_id=game["id"])
            self.result.count(action)
            if answer is not None and answer.status == 200:
                self.record.moves[game["id"]].append(action)
                self.record.saw(answer.body)
                game = answer.body
                continue
            if answer is None or answer.status >= 500:
                # The action may or may not have applied: read the game again.
                self.record.unknown_moves[game["id"]] += 1
                self.record.views[game["id"]] = None
            if answer is not None and answer.status != 409:
                self._expect(answer, 200)
            again = self._game(game["id"])
            if again is None:
                return
            game = again

    def read_history(self) -> None:
        limit = self.rng.randint(1, 20)
        query = f"/api/history?limit={limit}&resultFilter={self.rng.choice(FILTERS)}"
        for _ in range(3):
            page = self._get(query)
            if not self._expect(page, 200) or not page.body.get("nextCursor"):
                return
            query = f"/api/history?limit={limit}&cursor={page.body['nextCursor']}"

    def read_ledger(self) -> None:
        limit = self.rng.choice([5, 20, 50])
        cursor = None
        for _ in range(5):
            page = self._get(f"/api/transactions?limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
            if not self._expect(page, 200):
                return
            self.player.ledger_ids.update(t["id"] for t in page.body["transactions"])
            cursor = page.body.get("nextCursor")
            if not cursor:
                return

    def buy(self) -> None:
        if not self.items:
            listed = self._get("/api/store/items", token=False)
            if not self._expect(listed, 200):
                return
            self.items = listed.body["items"]
        item = self.rng.choice(self.items)
        body = {"itemId": item["id"], "quantity": self.rng.randint(1, 2)}
        self._expect(self._change("purchase", "POST", "/api/store/purchase", body), 201, 402)

    def withdraw(self) -> None:
        body = {"amount": self.rng.choice(["1", "0.5"]), "walletAddress": self.player.address}
        self._expect(self._change("withdrawal", "POST", "/api/withdraw", body), 201, 402)

    def deposit(self) -> None:
        body = {"amount": self.rng.choice(["10", "25.5"]), "currency": "GBC"}
        self._expect(self._change("deposit", "POST", "/api/deposit", body), 201)

    def update_user(self) -> None:
        body: dict[str, Any] = {"settings": {"soundEnabled": self.rng.random() < 0.5, "musicEnabled": False}}
        if self.rng.random() < 0.3:
            body["username"] = f"p{uuid.uuid4().hex[:12]}"
        self._expect(self._change("user", "PATCH", "/api/user", body), 200, 409)

    def step(self) -> None:
        self.play_round()
        rng = self.rng
        if rng.random() < 0.5:
            self._expect(self._get("/api/wallet"), 200)
        if rng.random() < 0.3:
            self.read_history()
        if rng.random() < 0.2:
            self._expect(self._get("/api/stats"), 200)
        if rng.random() < 0.3:
            self.read_ledger()
        if rng.random() < 0.1:
            self.buy()
        if rng.random() < 0.05:
            self.withdraw()
        if rng.random() < 0.05:
            self.update_user()
        if rng.random() < 0.03:
            self.deposit()
        if self.player.games and rng.random() < 0.1:
            game_id = rng.choice(sorted(self.player.games))
            self._expect(self._get(f"/api/game/{game_id}"), 200)

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
    drivers = [
        LoadPlayer(client, p, engine, result, seed * 1000 + i, careful=i % CAREFUL_EVERY != CAREFUL_EVERY - 1)
        for i, p in enumerate(players)
    ]
    result.records = [d.record for d in drivers]
    with ThreadPoolExecutor(max_workers=len(drivers)) as pool:
        for future in [pool.submit(d.run, until, stop) for d in drivers]:
            future.result()
    result.duration = time.monotonic() - started
    return result
