"""The invariants a run must leave behind, checked directly in PostgreSQL and SQS once the queues
have drained: money (balance = ledger sum, the balance chain, every game settled exactly once,
withdrawals and purchases each debited once), delivery (outbox empty, DLQs empty) and the effects
of jobs (one `game.end` audit row per ended game, one audit row per processed audit job,
precomputed totalHands = ended games); and, given what the players recorded (load.ClientRecord),
that retries never doubled anything: one row per change that got a 2xx, the moves and the last view
of every game as the client knows them, and one idempotency_keys row per key that got a 2xx."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, bindparam, text

if TYPE_CHECKING:
    from reliability.client import Client
    from reliability.load import ClientRecord

QUEUES = ("JOBS_QUEUE_URL", "PRIORITY_QUEUE_URL")
DLQS = ("JOBS_DLQ_URL", "PRIORITY_DLQ_URL")
SAMPLE = 10


@dataclass
class Check:
    name: str
    checked: int = 0
    failures: list[Any] = field(default_factory=list)
    failed: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def fail(self, item: Any) -> None:
        self.failed += 1
        if len(self.failures) < SAMPLE:
            self.failures.append(item)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "failed": self.failed,
            "sample": [str(f) for f in self.failures],
            **({"note": self.note} if self.note else {}),
        }


def sqs_client(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=env["SQS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
    )


def queue_depths(env: dict[str, str], names: tuple[str, ...]) -> dict[str, int | str]:
    """Visible + in flight + delayed messages per queue (moto keeps these exact)."""
    client = sqs_client(env)
    depths: dict[str, int | str] = {}
    for name in names:
        try:
            attrs = client.get_queue_attributes(QueueUrl=env[name], AttributeNames=["All"])["Attributes"]
            depths[name] = sum(
                int(attrs.get(a, 0))
                for a in (
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                )
            )
        except Exception as exc:  # a queue that vanished (an emulator restarted without it) is a failure too
            depths[name] = f"{type(exc).__name__}: {exc}"[:200]
    return depths


def _scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


STATS_BEHIND = """
    SELECT count(*) FROM (
        SELECT g.user_id, count(*) AS ended FROM games g WHERE g.ended_at IS NOT NULL GROUP BY g.user_id
    ) e LEFT JOIN system_config c ON c.key = 'user_stats:' || e.user_id::text
    WHERE COALESCE((c.value ->> 'totalHands')::int, -1) <> e.ended
"""


def drain(env: dict[str, str], engine: Engine, timeout: float = 60) -> dict[str, Any]:
    """Wait until the outbox is empty, the queues are empty and the stats caught up (or the timeout)."""
    started = time.monotonic()
    state: dict[str, Any] = {}
    while True:
        try:
            state = {
                "outbox": _scalar(engine, "SELECT count(*) FROM outbox"),
                "queues": queue_depths(env, QUEUES),
                "statsBehind": _scalar(engine, STATS_BEHIND),
            }
            if state["outbox"] == 0 and state["statsBehind"] == 0 and all(v == 0 for v in state["queues"].values()):
                break
        except Exception as exc:  # the database may still be coming back after a fault
            state = {"error": f"{type(exc).__name__}: {exc}"[:200]}
        if time.monotonic() - started > timeout:
            state["timedOut"] = True
            break
        time.sleep(0.5)
    state["waitedSeconds"] = round(time.monotonic() - started, 1)
    return state


def _has_seq(engine: Engine) -> bool:
    return bool(
        _scalar(
            engine,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'transactions' AND column_name = 'seq'",
        )
    )


def check_balances(engine: Engine) -> Check:
    check = Check("balance = sum(ledger) for every user")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT u.id, u.balance, COALESCE(SUM(t.amount), 0) AS ledger
                   FROM users u LEFT JOIN transactions t ON t.user_id = u.id GROUP BY u.id, u.balance"""
            )
        ).all()
    check.checked = len(rows)
    for user_id, balance, ledger in rows:
        if Decimal(balance) != Decimal(ledger):
            check.fail(f"user {user_id}: balance {balance} ledger {ledger}")
    return check


def check_chain(engine: Engine) -> Check:
    """Each ledger row's balance_before is the previous row's balance_after, in the ledger's strict
    order (`seq`). Without that column the order is (created_at, id); rows of one transaction share
    created_at, so ties are chained in whichever order fits."""
    seq = _has_seq(engine)
    check = Check("balance chain (balance_before = previous balance_after)")
    check.note = "ordered by seq" if seq else "no seq column: ordered by (created_at, id), ties chained in any order"
    order = "seq" if seq else "created_at, id"
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT user_id, id, created_at, balance_before, balance_after FROM transactions "  # noqa: S608
                f"ORDER BY user_id, {order}"  # a fixed column list, not input
            )
        ).all()
    check.checked = len(rows)
    by_user: dict[Any, list[Any]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    for user_id, entries in by_user.items():
        balance = Decimal(0)
        if seq:
            for entry in entries:
                if Decimal(entry.balance_before) != balance:
                    check.fail(
                        f"user {user_id} row {entry.id}: before {entry.balance_before}, previous after {balance}"
                    )
                balance = Decimal(entry.balance_after)
            continue
        i = 0
        while i < len(entries):
            group = [e for e in entries[i:] if e.created_at == entries[i].created_at]
            i += len(group)
            while group:
                nxt = next((e for e in group if Decimal(e.balance_before) == balance), None)
                if nxt is None:
                    nxt = group[0]
                    check.fail(f"user {user_id} row {nxt.id}: before {nxt.balance_before}, previous after {balance}")
                group.remove(nxt)
                balance = Decimal(nxt.balance_after)
    return check


GAME_MONEY = r"""
    WITH refs AS (
        SELECT split_part(reference_id, ':', 1) AS game_id, type, reference_id, amount
        FROM transactions WHERE type IN ('GAME_BET', 'GAME_WIN', 'GAME_REFUND')
    ), per_game AS (
        SELECT game_id,
               count(*) FILTER (WHERE type = 'GAME_BET' AND reference_id = game_id || '\:bet') AS bets,
               count(*) FILTER (WHERE reference_id = game_id || '\:settle') AS settles,
               COALESCE(SUM(amount) FILTER (WHERE reference_id = game_id || '\:settle'), 0) AS settled,
               COALESCE(-SUM(amount) FILTER (WHERE type = 'GAME_BET'), 0) AS wagered
        FROM refs GROUP BY game_id
    )
    SELECT g.id::text AS game_id, p.game_id AS ref_game, g.ended_at IS NOT NULL AS ended, g.win_amount,
           g.hands -> 'outcome' ->> 'totalWagered' AS total_wagered,
           COALESCE(p.bets, 0) AS bets, COALESCE(p.settles, 0) AS settles,
           COALESCE(p.settled, 0) AS settled, COALESCE(p.wagered, 0) AS wagered
    FROM games g FULL OUTER JOIN per_game p ON p.game_id = g.id::text
"""


def check_games(engine: Engine) -> Check:
    check = Check("every game bet once; every ended game settled exactly once (settle row iff win > 0)")
    with engine.connect() as conn:
        rows = conn.execute(text(GAME_MONEY)).all()
    for r in rows:
        if r.game_id is None:
            check.fail(f"ledger rows for a game that does not exist: {r.ref_game}")
            continue
        check.checked += 1
        problems = []
        if r.bets != 1:
            problems.append(f"{r.bets} bet rows")
        if r.settles > 1:
            problems.append(f"{r.settles} settle rows")
        if r.ended:
            win = Decimal(r.win_amount)
            if (r.settles == 1) != (win > 0):
                problems.append(f"win {win} with {r.settles} settle rows")
            if r.settles == 1 and Decimal(r.settled) != win:
                problems.append(f"settled {r.settled} != win {win}")
            if r.total_wagered is not None and Decimal(r.wagered) != Decimal(r.total_wagered):
                problems.append(f"debited {r.wagered} != wagered {r.total_wagered}")
        elif r.settles:
            problems.append("settled but not ended")
        if problems:
            check.fail(f"game {r.game_id}: {', '.join(problems)}")
    return check


def check_withdrawals_and_purchases(engine: Engine) -> Check:
    check = Check("each withdrawal and paid purchase debited exactly once, for its amount")
    sql = """
        SELECT 'withdrawal' AS kind, w.id::text, w.amount AS expected, count(t.id) AS rows,
               COALESCE(-SUM(t.amount), 0) AS debited
        FROM withdrawals w
        LEFT JOIN transactions t ON t.type = 'WITHDRAWAL' AND t.reference_id = 'withdrawal:' || w.id::text
        GROUP BY w.id, w.amount
        UNION ALL
        SELECT 'purchase', p.id::text, p.total, count(t.id), COALESCE(-SUM(t.amount), 0)
        FROM purchases p
        LEFT JOIN transactions t ON t.type = 'STORE_PURCHASE' AND t.reference_id = 'purchase:' || p.id::text
        GROUP BY p.id, p.total
    """
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
        orphans = conn.execute(
            text(
                """SELECT t.reference_id FROM transactions t
                   LEFT JOIN withdrawals w ON t.reference_id = 'withdrawal:' || w.id::text
                   LEFT JOIN purchases p ON t.reference_id = 'purchase:' || p.id::text
                   WHERE (t.type = 'WITHDRAWAL' AND w.id IS NULL) OR (t.type = 'STORE_PURCHASE' AND p.id IS NULL)"""
            )
        ).all()
    check.checked = len(rows)
    for kind, ident, expected, count, debited in rows:
        want = 1 if Decimal(expected) > 0 else 0
        if count != want or Decimal(debited) != (Decimal(expected) if want else 0):
            check.fail(f"{kind} {ident}: {count} ledger rows debiting {debited}, expected {expected}")
    for (reference,) in orphans:
        check.fail(f"ledger row {reference} without its withdrawal/purchase")
    return check


def check_outbox(engine: Engine) -> Check:
    check = Check("outbox empty")
    count = _scalar(engine, "SELECT count(*) FROM outbox")
    check.checked = 1
    if count:
        check.fail(f"{count} outbox rows left")
    return check


def check_dlqs(env: dict[str, str]) -> Check:
    check = Check("DLQs empty and queues drained")
    for name, depth in queue_depths(env, DLQS + QUEUES).items():
        check.checked += 1
        if depth != 0:
            check.fail(f"{name}: {depth}")
    return check


def check_audit(engine: Engine) -> Check:
    check = Check("one game.end audit row per ended game; one audit row per processed audit job")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT g.id, count(a.id) FROM games g
                   LEFT JOIN audit_logs a ON a.action = 'game.end' AND a.resource_id = g.id::text
                   WHERE g.ended_at IS NOT NULL GROUP BY g.id HAVING count(a.id) <> 1"""
            )
        ).all()
        ended = conn.execute(text("SELECT count(*) FROM games WHERE ended_at IS NOT NULL")).scalar()
        audits = conn.execute(text("SELECT count(*) FROM audit_logs")).scalar()
        jobs = conn.execute(text("SELECT count(*) FROM processed_jobs WHERE type = 'audit:log'")).scalar()
    check.checked = int(ended or 0)
    for game_id, count in rows:
        check.fail(f"game {game_id}: {count} game.end audit rows")
    if audits != jobs:
        check.fail(f"{audits} audit rows but {jobs} processed audit:log jobs")
    check.note = f"{audits} audit rows, {jobs} processed audit jobs"
    return check


def check_stats(engine: Engine) -> Check:
    check = Check("precomputed totalHands = ended games, per user")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT e.user_id, e.ended, (c.value ->> 'totalHands')::int FROM (
                       SELECT user_id, count(*) AS ended FROM games WHERE ended_at IS NOT NULL GROUP BY user_id
                   ) e LEFT JOIN system_config c ON c.key = 'user_stats:' || e.user_id::text"""
            )
        ).all()
    check.checked = len(rows)
    for user_id, ended, hands in rows:
        if hands != ended:
            check.fail(f"user {user_id}: totalHands {hands}, ended games {ended}")
    return check


# Each kind of change, the table its effect lands in and where the 2xx answer names the row.
EFFECTS: dict[str, tuple[str, Any]] = {
    "game": ("games", lambda body: body["id"]),
    "purchase": ("purchases", lambda body: body["purchaseId"]),
    "withdrawal": ("withdrawals", lambda body: body["withdrawal"]["id"]),
    "deposit": ("deposit_intents", lambda body: body["intentId"]),
}


def _by_user(engine: Engine, sql: str, users: Sequence[Any]) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = defaultdict(list)
    if not users:
        return rows
    query = text(sql).bindparams(bindparam("users", expanding=True))
    with engine.connect() as conn:
        for row in conn.execute(query, {"users": list(users)}):
            rows[str(row[0])].append(row)
    return rows


def check_effects(engine: Engine, records: Iterable[ClientRecord]) -> Check:
    """Per user and kind: every 2xx names its own row (two changes never share one), and the rows are
    exactly those, plus at most one per change whose outcome the client never learned."""
    check = Check("one row per change that got a 2xx (games, purchases, withdrawals, deposit intents)")
    records = list(records)
    users = [r.player.user_id for r in records]
    for kind, (table, row_id) in EFFECTS.items():
        rows = _by_user(engine, f"SELECT user_id, id FROM {table} WHERE user_id IN :users", users)  # noqa: S608
        for record in records:
            changes = [c for c in record.changes if c.kind == kind]
            have = {str(r[1]) for r in rows.get(str(record.player.user_id), [])}
            named = [str(row_id(c.body)) for c in changes if c.applied]
            unknown = sum(1 for c in changes if c.unknown)
            check.checked += len(changes)
            who = f"user {record.player.user_id} ({'keyed' if record.careful else 'keyless'}) {kind}"
            if len(set(named)) != len(named):
                check.fail(f"{who}: {len(named)} answers 2xx name only {len(set(named))} rows")
            if missing := set(named) - have:
                check.fail(f"{who}: answered 2xx but no row: {sorted(missing)[:3]}")
            extra = have - set(named)
            if len(extra) > unknown:
                check.fail(f"{who}: {len(extra)} rows nobody got a 2xx for, {unknown} outcomes unknown")
    return check


def check_moves(engine: Engine, records: Iterable[ClientRecord]) -> Check:
    """The moves recorded per game are the ones the client got a 200 for, in order: a retried action
    is never applied twice. A move whose outcome the client does not know may or may not be there."""
    check = Check("every game's recorded moves = the actions answered 200, in order")
    records = list(records)
    rows = _by_user(
        engine,
        "SELECT g.user_id, g.id, m.move FROM games g LEFT JOIN game_moves m ON m.game_id = g.id "
        "WHERE g.user_id IN :users ORDER BY g.user_id, g.id, m.id",
        [r.player.user_id for r in records],
    )
    for record in records:
        stored: dict[str, list[str]] = defaultdict(list)
        for _, game_id, move in rows.get(str(record.player.user_id), []):
            stored[str(game_id)] += [move] if move is not None else []
        for game_id, moves in stored.items():
            check.checked += 1
            seen = record.moves.get(game_id)
            unknown = record.unknown_moves.get(game_id, 0)
            if seen is None:
                if moves != ["deal"]:
                    check.fail(f"game {game_id} the client never saw has moves {moves}")
                continue
            if unknown == 0 and moves != seen:
                check.fail(f"game {game_id}: stored {moves}, answered 200 {seen}")
            elif unknown and not (_subsequence(seen, moves) and len(moves) <= len(seen) + unknown):
                check.fail(f"game {game_id}: stored {moves}, answered 200 {seen}, {unknown} unknown")
    return check


def _subsequence(part: list[str], whole: list[str]) -> bool:
    rest = iter(whole)
    return all(item in rest for item in part)


def check_game_views(client: Client, records: Iterable[ClientRecord], workers: int = 16) -> Check:
    """The client's last view of each game (its last answer about it) is GET /api/game/{id} now:
    nothing happened to a game behind its player's back. The balance is only in action answers."""
    check = Check("the client's last view of each game = GET /api/game/{id}")
    wanted = [(r.player.token, v) for r in records for v in r.views.values() if v is not None]

    def compare(item: tuple[str, dict[str, Any]]) -> str | None:
        token, view = item
        answer = client.get(f"/api/game/{view['id']}", token)
        if answer.status != 200:
            return f"game {view['id']}: GET answered {answer.status}"
        seen = {k: v for k, v in view.items() if k != "balance"}
        if answer.body != seen:
            diff = sorted(k for k in set(seen) | set(answer.body) if seen.get(k) != answer.body.get(k))
            return f"game {view['id']}: differs in {diff}: saw {json.dumps({k: seen.get(k) for k in diff})[:300]}"
        return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for problem in pool.map(compare, wanted):
            check.checked += 1
            if problem:
                check.fail(problem)
    return check


def check_idempotency_keys(engine: Engine, records: Iterable[ClientRecord]) -> Check:
    """One idempotency_keys row per key that got a 2xx, holding that very answer; none for a key that
    got a 4xx (a failure stores nothing); none the players never sent."""
    check = Check("one idempotency_keys row per key answered 2xx, with that status and response")
    records = list(records)
    rows = _by_user(
        engine,
        "SELECT user_id, key, status_code, response FROM idempotency_keys WHERE user_id IN :users",
        [r.player.user_id for r in records],
    )
    for record in records:
        stored = {row.key: row for row in rows.get(str(record.player.user_id), [])}
        sent = {c.key: c for c in record.changes if c.key}
        who = f"user {record.player.user_id}"
        for key, change in sent.items():
            check.checked += 1
            row = stored.get(key)
            if change.applied:
                if row is None:
                    check.fail(f"{who} {change.kind} key {key}: answered {change.status}, no row")
                elif row.status_code != change.status or row.response != change.body:
                    check.fail(
                        f"{who} {change.kind} key {key}: stored {row.status_code} {json.dumps(row.response)[:120]}, "
                        f"answered {change.status} {json.dumps(change.body)[:120]}"
                    )
            elif row is not None and not change.unknown:
                check.fail(f"{who} {change.kind} key {key}: answered {change.status} yet stored {row.status_code}")
        for key in set(stored) - set(sent):
            check.fail(f"{who}: a row for key {key} nobody sent")
        if not record.careful and stored:
            check.fail(f"{who} sent no key yet has {len(stored)} rows")
    return check


def check_all(
    env: dict[str, str],
    engine: Engine,
    records: Sequence[ClientRecord] = (),
    client: Client | None = None,
) -> dict[str, Check]:
    checks = [
        check_balances(engine),
        check_chain(engine),
        check_games(engine),
        check_withdrawals_and_purchases(engine),
        check_outbox(engine),
        check_dlqs(env),
        check_audit(engine),
        check_stats(engine),
    ]
    if records:
        checks += [check_effects(engine, records), check_moves(engine, records)]
        checks.append(check_idempotency_keys(engine, records))
        if client is not None:
            checks.append(check_game_views(client, records))
    return {c.name: c for c in checks}


def totals(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM games),
                          (SELECT count(*) FROM games WHERE ended_at IS NOT NULL), (SELECT count(*) FROM transactions),
                          (SELECT count(*) FROM withdrawals), (SELECT count(*) FROM purchases),
                          (SELECT count(*) FROM audit_logs), (SELECT count(*) FROM processed_jobs)"""
            )
        ).one()
    keys = ("users", "games", "endedGames", "ledgerRows", "withdrawals", "purchases", "auditRows", "processedJobs")
    return dict(zip(keys, (int(v) for v in row), strict=True))
