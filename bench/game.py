"""Game benchmarks, in-process and over HTTP: game create, game action and history (the real path,
cache on: between plays the write-through keeps first pages warm; uncached history latency and its
curve against the table size are in bench/compare.py).

Each worker thread plays as its own user, so concurrent requests contend the way real players do
(one active game per user). Only the measured request is timed: the untimed steps that set it up
(finishing a round before the next bet, dealing before an action) run outside the clock.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from decimal import Decimal
from typing import Any, Protocol

from bench.http import KeepAliveClient
from bench.stats import summarize


class Call(Protocol):
    """(method, path, body) -> (status, json)"""

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]: ...


def in_process_client(user_id: uuid.UUID) -> Call:
    import api_app

    from bench.gateway import signed_in_context
    from devstack.apigw import rest_event
    from devstack.runtime import LocalContext

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        route, _, query = path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if p)
        event = rest_event(
            method,
            route,
            query={k: [v] for k, v in params.items()},
            headers={"Content-Type": ["application/json"]},
            body=json.dumps(body) if body is not None else None,
            authorizer=signed_in_context(user_id),
        )
        result = api_app.lambda_handler(event, LocalContext("ApiFunction", 1024, 30))
        return int(result["statusCode"]), json.loads(result["body"] or "null")

    return call


def http_client(base: str, token: str) -> Call:
    client = KeepAliveClient(base)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        status, payload = client.request(method, path, data, headers)
        return status, json.loads(payload or b"null")

    return call


def _timed(call: Call, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
    start = time.perf_counter()
    status, payload = call(method, path, body)
    return status, payload, (time.perf_counter() - start) * 1000


def _next_action(game: dict[str, Any]) -> str:
    legal = game["legalActions"]
    total = game["hands"][game["activeHand"]]["total"] if game.get("hands") else 21
    return "hit" if total < 17 and "hit" in legal else ("stand" if "stand" in legal else legal[0])


SETTLE_SECONDS = 0.1


class Player:
    """One thread's user: keeps a round going so every timed step has something legal to do."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.game: dict[str, Any] | None = None

    def _finish(self) -> None:
        while self.game and self.game["state"] != "ENDED":
            status, self.game = self.call(
                "POST", "/api/game/action", {"gameId": self.game["id"], "action": _next_action(self.game)}
            )
            if status != 200:
                raise RuntimeError(f"action failed: {status} {self.game}")
        self.game = None

    def create(self) -> tuple[int, float]:
        self._finish()
        status, game, ms = _timed(self.call, "POST", "/api/game", {"betAmount": "1"})
        self.game = game if status == 201 else None
        return status, ms

    def action(self) -> tuple[int, float]:
        while self.game is None or self.game["state"] == "ENDED":
            status, self.game = self.call("POST", "/api/game", {"betAmount": "1"})
            if status != 201:
                raise RuntimeError(f"create failed: {status} {self.game}")
        status, game, ms = _timed(
            self.call, "POST", "/api/game/action", {"gameId": self.game["id"], "action": _next_action(self.game)}
        )
        self.game = game if status == 200 else None
        return status, ms

    def stand(self, settle: float = 0.0) -> tuple[int, float]:
        """The stand that ends the round (settlement, stats and audit jobs): dealt afresh until there
        is one hand in play to stand on; only the stand is timed. `settle`: seconds to wait before it,
        so the previous round's work after its response (the jobs' send, the worker running them)
        is over and the stand has the machine to itself."""
        while True:
            self._finish()
            status, self.game = self.call("POST", "/api/game", {"betAmount": "1"})
            if status != 201:
                raise RuntimeError(f"create failed: {status} {self.game}")
            game = self.game
            if game["phase"] == "PLAYER_TURN" and len(game["hands"]) == 1 and "stand" in game["legalActions"]:
                break
        if settle:
            time.sleep(settle)
        status, game, ms = _timed(self.call, "POST", "/api/game/action", {"gameId": game["id"], "action": "stand"})
        if status == 200 and game["state"] != "ENDED":
            raise RuntimeError(f"a stand on the only hand did not end the round: {game}")
        self.game = None
        return status, ms

    def stand_settled(self) -> tuple[int, float]:
        """The stand, 0.1 s after the round's deal: what the stand costs when the round before it is
        done in the background too (on a 2-CPU machine, back-to-back rounds share it with that work)."""
        return self.stand(settle=SETTLE_SECONDS)

    def wallet(self) -> tuple[int, float]:
        status, _, ms = _timed(self.call, "GET", "/api/wallet")
        return status, ms

    def history(self) -> tuple[int, float]:
        filters = ["all", "all", "all", "WIN", "LOSE", "PUSH", "BLACKJACK"]
        status, _, ms = _timed(self.call, "GET", f"/api/history?limit=20&resultFilter={random.choice(filters)}")
        return status, ms


def drive(players: list[Player], step: str, requests: int, expect: int) -> dict[str, Any]:
    """`requests` timed steps spread over one thread per player."""
    samples: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_player = requests // len(players)

    def run(player: Player) -> None:
        nonlocal errors
        for _ in range(per_player):
            status, ms = getattr(player, step)()
            with lock:
                samples.append(ms)
                errors += status != expect

    for player in players:  # warm-up
        for _ in range(3):
            getattr(player, step)()
    threads = [threading.Thread(target=run, args=(p,)) for p in players]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summarize(samples, time.perf_counter() - started, errors)


def make_players(count: int, games_each: int) -> list[tuple[uuid.UUID, str]]:
    """Funded users, each with `games_each` ended games for the history queries; (id, token)."""
    from sqlalchemy.dialects.postgresql import insert

    from gbc.auth.tokens import issue_token
    from gbc.data.models import Game, GameResult, GameState, User
    from gbc.data.transaction import unit_of_work

    users = []
    with unit_of_work() as uow:
        for _ in range(count):
            wallet = "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
            user_id = uow.session.execute(
                insert(User).values(wallet_address=wallet, balance=Decimal(10**9)).returning(User.id)
            ).scalar_one()
            users.append((user_id, wallet))
        results = list(GameResult)
        rows = []
        now = time.time()
        for user_id, _ in users:
            for g in range(games_each):
                result = results[g % len(results)]
                ended = now - g * 60
                rows.append(
                    {
                        "user_id": user_id,
                        "state": GameState.ENDED,
                        "bet_amount": Decimal(10),
                        "hands": {},
                        "dealer_hand": {},
                        "result": result,
                        "win_amount": Decimal(10),
                        "net_profit": Decimal(0),
                        "fairness": {},
                        "created_at": _ts(ended - 30),
                        "ended_at": _ts(ended),
                    }
                )
        for start in range(0, len(rows), 5000):
            uow.session.execute(insert(Game), rows[start : start + 5000])
    return [(user_id, issue_token(user_id, wallet)) for user_id, wallet in users]


def _ts(epoch: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


def run_game_bench(base: str, env: dict[str, str], requests: int, concurrency: int) -> dict[str, Any]:
    from bench import containers

    users = make_players(concurrency, games_each=1000)
    steps = {"create": 201, "stand": 200, "stand_settled": 200, "action": 200, "history": 200, "wallet": 200}
    in_process = containers.run(env, "game", steps, [uid for uid, _ in users], requests)
    players = [Player(http_client(base, token)) for _, token in users]
    report: dict[str, Any] = {}
    for step, expect in steps.items():
        name = step if step in ("history", "wallet") else f"game-{step}"
        report[name] = {"in_process": in_process[step], "http": drive(players, step, requests, expect)}
    for player in players:
        player._finish()
    return report
