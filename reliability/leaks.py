"""The leak check: many fresh users read their own history, ledger, wallet and games over and over
while other requests fail in every bad way we can think of. Nobody may ever see another user's rows
(every returned game and ledger row is checked against its owner in the database), and every bad
request must answer 4xx, never 5xx."""

# ruff: noqa: S105, S106, S311 - a test driver: its "tokens" are attack inputs, its dice need no secrecy
from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from reliability.client import Client, Response
from reliability.players import Player


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def ghost_token(env: dict[str, str], like: str) -> str:
    """A correctly signed session token (the stack's own secret and claims) for a user that does not exist."""
    import jwt

    claims = jwt.decode(like, options={"verify_signature": False})
    claims.update(sub=str(uuid.uuid4()), wallet="0x" + "de" * 20, iat=int(time.time()), exp=int(time.time()) + 3600)
    return jwt.encode(claims, env["JWT_SECRET"], algorithm="HS256")


@dataclass(frozen=True)
class Bad:
    name: str
    method: str
    path: str
    raw: bytes | None = None
    content_type: str = "application/json"
    token: str = "own"  # own, ghost, none, long, none-alg
    expect_4xx: bool = True  # False: only "no 5xx and no leak" (e.g. another user's cursor may well answer 200)


def bad_requests(other_row: dict[str, str], other_game: str, other_user: str) -> list[Bad]:
    far = {"t": "9999-12-31T23:59:59-05:00", "id": str(uuid.uuid4())}
    cursors = {
        "year 9999, negative offset": _cursor(far),
        "id a number": _cursor({"t": "2026-01-01T00:00:00+00:00", "id": 5}),
        "id a list": _cursor({"t": "2026-01-01T00:00:00+00:00", "id": [str(uuid.uuid4())]}),
        "id null": _cursor({"t": "2026-01-01T00:00:00+00:00", "id": None}),
        "t a number": _cursor({"t": 12, "id": str(uuid.uuid4())}),
        "t garbage": _cursor({"t": "yesterday", "id": str(uuid.uuid4())}),
        "json array": _cursor([1, 2]),
        "not json": base64.urlsafe_b64encode(b"\xff\x00not json").decode(),
        "not base64": "!!!***",
        "NUL inside": _cursor({"t": "2026-01-01T00:00:00\u0000+00:00", "id": str(uuid.uuid4())}),
        "too long": "A" * 600,
    }
    out: list[Bad] = []
    for what, cursor in cursors.items():
        for route in ("/api/history", "/api/transactions"):
            out.append(Bad(f"{route} cursor {what}", "GET", f"{route}?cursor={cursor}"))
    stolen = _cursor({"t": other_row["createdAt"], "id": other_row["id"]})
    out.append(
        Bad("transactions cursor of another user's row", "GET", f"/api/transactions?cursor={stolen}", expect_4xx=False)
    )
    big_json = json.dumps({"username": "a" * (6 * 1024 * 1024)}).encode()
    out += [
        Bad("PATCH username with NUL", "PATCH", "/api/user", b'{"username": "ab\\u0000cd"}'),
        Bad("PATCH email with NUL", "PATCH", "/api/user", b'{"email": "a\\u0000@example.com"}'),
        Bad("history resultFilter with NUL", "GET", "/api/history?resultFilter=all%00"),
        Bad("POST game clientSeed with NUL", "POST", "/api/game", b'{"betAmount": "1", "clientSeed": "ab\\u0000"}'),
        Bad("PATCH username lone surrogate", "PATCH", "/api/user", b'{"username": "ab\\ud800cd"}'),
        Bad("PATCH email lone surrogate", "PATCH", "/api/user", b'{"email": "\\udfff@example.com"}'),
        Bad("POST store itemId lone surrogate", "POST", "/api/store/purchase", b'{"itemId": "\\ud800"}'),
        Bad("PATCH invalid UTF-8", "PATCH", "/api/user", b'{"username": "\xff\xfe\xfd"}'),
        Bad("POST action invalid UTF-8", "POST", "/api/game/action", b'{"gameId": "\xc3\x28", "action": "hit"}'),
        Bad("POST purchase text/plain", "POST", "/api/store/purchase", b'{"itemId": "chips-ceramic"}', "text/plain"),
        Bad(
            "PATCH user application/xml",
            "PATCH",
            "/api/user",
            b"<user><username>x</username></user>",
            "application/xml",
        ),
        Bad("POST game form-encoded", "POST", "/api/game", b"betAmount=1", "application/x-www-form-urlencoded"),
        Bad("POST action 10000-deep array", "POST", "/api/game/action", b"[" * 10000 + b"]" * 10000),
        Bad("PATCH user 10000-deep object", "PATCH", "/api/user", b'{"settings":' * 10000 + b"{}" + b"}" * 10000),
        Bad("GET game %FF", "GET", "/api/game/%FF"),
        Bad("GET game %00", "GET", "/api/game/%00"),
        Bad("GET game not a uuid", "GET", "/api/game/not-a-uuid"),
        Bad("GET another user's game", "GET", f"/api/game/{other_game}"),
        Bad("GET verify another user's game", "GET", f"/api/game/{other_game}/verify"),
        Bad(
            "POST action on another user's game",
            "POST",
            "/api/game/action",
            json.dumps({"gameId": other_game, "action": "stand"}).encode(),
        ),
        Bad("PATCH 6 MB body", "PATCH", "/api/user", big_json),
        Bad("POST truncated JSON", "POST", "/api/game", b'{"betAmount": '),
        Bad("POST body null", "POST", "/api/game", b"null"),
        Bad("POST body a list", "POST", "/api/store/purchase", b"[]"),
        Bad("POST body a string", "POST", "/api/withdraw", b'"hello"'),
        Bad("POST empty body", "POST", "/api/game", b""),
        Bad("POST bet NaN", "POST", "/api/game", b'{"betAmount": "NaN"}'),
        Bad("POST bet Infinity", "POST", "/api/game", b'{"betAmount": "Infinity"}'),
        Bad("POST bet 1e400", "POST", "/api/game", b'{"betAmount": 1e400}'),
        Bad("POST bet negative", "POST", "/api/game", b'{"betAmount": "-5"}'),
        Bad(
            "POST purchase quantity 1e20",
            "POST",
            "/api/store/purchase",
            b'{"itemId": "chips-ceramic", "quantity": 100000000000000000000}',
        ),
        Bad(
            "POST withdraw amount 1e30 to 0x0",
            "POST",
            "/api/withdraw",
            b'{"amount": "1e30", "walletAddress": "0x0000000000000000000000000000000000000000"}',
        ),
        Bad("GET history limit 0", "GET", "/api/history?limit=0"),
        Bad("GET history limit huge", "GET", "/api/history?limit=99999999999999999999999"),
        Bad("GET transactions limit abc", "GET", "/api/transactions?limit=abc"),
        Bad("GET history resultFilter bad", "GET", "/api/history?resultFilter=EVERYTHING"),
        Bad("GET wallet userId of another user", "GET", f"/api/wallet?userId={other_user}"),
        Bad("GET transactions userId of another user", "GET", f"/api/transactions?userId={other_user}"),
        Bad("GET history userId not a uuid", "GET", "/api/history?userId=%FF%FE"),
        Bad("GET wallet ghost user", "GET", "/api/wallet", token="ghost"),
        Bad("GET history ghost user", "GET", "/api/history", token="ghost"),
        Bad("GET transactions ghost user", "GET", "/api/transactions", token="ghost"),
        Bad("GET stats ghost user", "GET", "/api/stats", token="ghost"),
        Bad("POST game ghost user", "POST", "/api/game", b'{"betAmount": "1"}', token="ghost"),
        Bad("PATCH user ghost user", "PATCH", "/api/user", b'{"username": "ghost_1"}', token="ghost"),
        Bad(
            "POST withdraw ghost user",
            "POST",
            "/api/withdraw",
            b'{"amount": "1", "walletAddress": "0x' + b"de" * 20 + b'"}',
            token="ghost",
        ),
        Bad("POST purchase ghost user", "POST", "/api/store/purchase", b'{"itemId": "chips-ceramic"}', token="ghost"),
        Bad("GET wallet no token", "GET", "/api/wallet", token="none"),
        Bad("GET wallet alg none token", "GET", "/api/wallet", token="none-alg"),
        Bad("GET wallet 16 KB token", "GET", "/api/wallet", token="long"),
    ]
    return out


@dataclass
class LeakResult:
    reads: int = 0
    rows_checked: int = 0
    leaks: list[str] = field(default_factory=list)
    bad_statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    expect_4xx: dict[str, bool] = field(default_factory=dict)
    unknown_rows: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, id, caller)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bad_failures(self) -> dict[str, dict[int, int]]:
        """Bad requests that got a 5xx (or, where a 4xx is due, anything but a 4xx)."""
        failing = {}
        for name, statuses in self.bad_statuses.items():
            wrong = {
                s: n
                for s, n in statuses.items()
                if s >= 500 or (self.expect_4xx.get(name, True) and not 400 <= s < 500)
            }
            if wrong:
                failing[name] = dict(statuses)
        return failing

    def summary(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "rowsChecked": self.rows_checked,
            "leaks": len(self.leaks),
            "leakSample": self.leaks[:10],
            "badRequestKinds": len(self.bad_statuses),
            "badRequests": sum(sum(c.values()) for c in self.bad_statuses.values()),
            "badRequestsNot4xx": self.bad_failures(),
            "driverErrors": self.errors[:10],
        }


class Owners:
    """Who owns each game and ledger row, from the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.games: dict[str, str] = {}
        self.rows: dict[str, str] = {}
        self.refresh()

    def refresh(self) -> None:
        with self.engine.connect() as conn:
            self.games = {str(g): str(u) for g, u in conn.execute(text("SELECT id, user_id FROM games"))}
            self.rows = {str(t): str(u) for t, u in conn.execute(text("SELECT id, user_id FROM transactions"))}


def _check_body(result: LeakResult, owners: Owners, caller: Player, path: str, answer: Response) -> None:
    if answer.status != 200 or not isinstance(answer.body, dict):
        return
    me = str(caller.user_id)
    found: list[tuple[str, str]] = []
    if path.startswith("/api/history"):
        found = [("game", g["id"]) for g in answer.body.get("games", [])]
    elif path.startswith("/api/transactions"):
        found = [("row", t["id"]) for t in answer.body.get("transactions", [])]
    elif path.startswith("/api/game/"):
        found = [("game", str(answer.body.get("id") or answer.body.get("gameId")))]
    elif path.startswith("/api/wallet"):
        address = str(answer.body.get("walletAddress", "")).lower()
        with result.lock:
            result.rows_checked += 1
            if address != caller.address.lower():
                result.leaks.append(f"{me} got the wallet of {address}")
        return
    with result.lock:
        for kind, ident in found:
            result.rows_checked += 1
            owner = (owners.games if kind == "game" else owners.rows).get(ident)
            if owner is None:
                result.unknown_rows.append((kind, ident, me))
            elif owner != me:
                result.leaks.append(f"{me} got {kind} {ident} of {owner} via {path[:80]}")


def _reader(client: Client, owners: Owners, result: LeakResult, player: Player, until: float, seed: int) -> None:
    rng = random.Random(seed)
    own_games = sorted(g for g, u in owners.games.items() if u == str(player.user_id))
    while time.monotonic() < until:
        try:
            for base in ("/api/history", "/api/transactions"):
                limit = rng.choice([1, 2, 5, 20])
                path = f"{base}?limit={limit}" + (
                    f"&resultFilter={rng.choice(['all', 'WIN', 'LOSE'])}" if base == "/api/history" else ""
                )
                for _ in range(4):
                    answer = client.get(path, player.token)
                    with result.lock:
                        result.reads += 1
                    _check_body(result, owners, player, path, answer)
                    cursor = answer.body.get("nextCursor") if answer.status == 200 else None
                    if not cursor:
                        break
                    path = f"{base}?limit={limit}&cursor={cursor}"
            for path in ["/api/wallet", *(f"/api/game/{g}" for g in rng.sample(own_games, min(2, len(own_games))))]:
                answer = client.get(path, player.token)
                with result.lock:
                    result.reads += 1
                _check_body(result, owners, player, path, answer)
        except Exception as exc:
            with result.lock:
                result.errors.append(f"reader {type(exc).__name__}: {exc}"[:200])


def _send(client: Client, owners: Owners, result: LeakResult, caller: Player, bad: Bad, tokens: dict[str, Any]) -> None:
    token = caller.token if bad.token == "own" else tokens[bad.token]
    try:
        answer = client.request(
            bad.method,
            bad.path,
            token=token,
            raw=bad.raw,
            headers={"Content-Type": bad.content_type},
            route=f"BAD {bad.name}",
        )
    except Exception as exc:
        with result.lock:
            result.bad_statuses[bad.name][-1] += 1
            result.errors.append(f"{bad.name}: {type(exc).__name__}: {exc}"[:200])
        return
    with result.lock:
        result.bad_statuses[bad.name][answer.status] += 1
    if bad.token == "own":
        _check_body(result, owners, caller, bad.path, answer)


def _attacker(
    client: Client,
    owners: Owners,
    result: LeakResult,
    players: list[Player],
    bads: list[Bad],
    tokens: dict[str, Any],
    until: float,
    seed: int,
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        _send(client, owners, result, rng.choice(players), rng.choice(bads), tokens)


def _alg_none_token(player: Player) -> str:
    _, payload, _ = player.token.split(".")
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    return f"{none}.{payload}."


def run_leak_check(
    client: Client, env: dict[str, str], engine: Engine, players: list[Player], seconds: float, attackers: int = 4
) -> LeakResult:
    """`players` have played (they own games and ledger rows); readers and attackers run for `seconds`."""
    owners = Owners(engine)
    result = LeakResult()
    victim = players[-1]
    other_row = next(t for t in client.get("/api/transactions?limit=1", victim.token).body["transactions"])
    other_game = next(g for g, u in owners.games.items() if u == str(victim.user_id))
    # The attackers are everyone but the victim, so "another user's" really is another user's.
    bads = bad_requests(other_row, other_game, str(victim.user_id))
    for bad in bads:
        result.expect_4xx[bad.name] = bad.expect_4xx
    tokens = {
        "ghost": ghost_token(env, players[0].token),
        "none": None,
        "long": "x" * 16384,
        "none-alg": _alg_none_token(players[0]),
    }
    until = time.monotonic() + seconds
    with ThreadPoolExecutor(max_workers=len(players) + attackers) as pool:
        futures = [pool.submit(_reader, client, owners, result, p, until, i) for i, p in enumerate(players)]
        futures += [
            pool.submit(_attacker, client, owners, result, players[:-1], bads, tokens, until, 1000 + i)
            for i in range(attackers)
        ]
        for future in futures:
            future.result()
    # Every bad request at least once, whatever the dice said.
    for bad in bads:
        if bad.name not in result.bad_statuses:
            _send(client, owners, result, players[0], bad, tokens)
    # Rows the owner map did not know yet (none are expected: the leak phase writes nothing).
    if result.unknown_rows:
        owners.refresh()
        for kind, ident, me in result.unknown_rows:
            owner = (owners.games if kind == "game" else owners.rows).get(ident)
            if owner != me:
                result.leaks.append(f"{me} got {kind} {ident} owned by {owner}")
    return result


def prepare_players(client: Client, engine: Engine, count: int, rounds: int = 3) -> list[Player]:
    """Fresh users who each own a few games and ledger rows (bets, payouts, a purchase)."""
    from decimal import Decimal

    from reliability.load import LoadPlayer, LoadResult
    from reliability.players import sign_in_many

    players = sign_in_many(client, count, engine, Decimal(1000))
    scratch = LoadResult()

    def play(indexed: tuple[int, Player]) -> None:
        driver = LoadPlayer(client, indexed[1], engine, scratch, seed=indexed[0])
        for _ in range(rounds):
            driver.play_round()
        driver.buy()

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(play, enumerate(players)))
    return players
