"""`make dev` as a newcomer runs it, driven over HTTP: health, the authorizer, validation, the job
slice through the outbox, SQS and the worker, a schedule on demand, and a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


class Stack:
    def __init__(self, base: str, data_dir: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.base, self.data_dir, self.proc, self.log = base, data_dir, proc, log

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        return _request(self.base, method, path, body, token)

    @property
    def env(self) -> dict[str, str]:
        return json.loads((self.data_dir / "stack.json").read_text())["env"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("devstack")
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SQS_ENDPOINT_URL", "JWT_SECRET")
    }
    env.update(
        DEVSTACK_DATA_DIR=str(data_dir),
        DEVSTACK_SQS_PORT=str(_free_port()),
        DEVSTACK_WS_PORT=str(_free_port()),
        PORT=str(port),
    )
    log = data_dir / "stack.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "dev", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if _request(base, "GET", "/api/health")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"make dev did not come up:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield Stack(base, data_dir, proc, log)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)


def _token(stack: Stack, wallet: str) -> str:
    result = subprocess.run(
        ["python", "-m", "devstack", "--data-dir", str(stack.data_dir), "token", wallet],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"},
    )
    return result.stdout.strip().splitlines()[-1]


def test_health_over_http(stack):
    status, body = stack.call("GET", "/api/health")
    assert status == 200
    assert body["status"] == "ok", body
    assert body["database"]["ok"] and body["cache"]["ok"] and body["queue"]["ok"]


def test_gateway_answers_like_api_gateway_with_the_templates_gateway_responses(stack):
    # MISSING_AUTHENTICATION_TOKEN and UNAUTHORIZED in the API's error shape (template GatewayResponses).
    assert stack.call("GET", "/api/nowhere") == (404, {"error": "Not found"})
    assert stack.call("DELETE", "/api/wallet") == (404, {"error": "Not found"})
    assert stack.call("PATCH", "/api/user", {"username": "zed"}) == (401, {"error": "Unauthorized"})
    assert stack.call("PATCH", "/api/user", {"username": "zed"}, token="forged") == (401, {"error": "Unauthorized"})


def _with_headers(stack: Stack, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any, Any]:
    request = urllib.request.Request(stack.base + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read() or b"null")


def test_a_browser_on_an_allowed_origin_gets_through_preflight_and_reads_every_answer(stack):
    page = "http://localhost:3000"  # the first allowed origin: the one API Gateway's own answers name
    # The preflight is API Gateway's (the template's Cors): no token, no authorizer.
    status, headers, _ = _with_headers(
        stack,
        "OPTIONS",
        "/api/game/action",
        {"Origin": page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"},
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == page
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    # The gateway's own refusal (no token: UNAUTHORIZED) carries CORS and the API's error shape.
    status, headers, body = _with_headers(stack, "GET", "/api/wallet", {"Origin": page})
    assert (status, body) == (401, {"error": "Unauthorized"})
    assert headers["Access-Control-Allow-Origin"] == page
    # The function's answer echoes any allowed origin (the second of the list here).
    token = _token(stack, "0x" + "44" * 20)
    other = "https://play.example.com"
    status, headers, _ = _with_headers(
        stack, "GET", "/api/wallet", {"Origin": other, "Authorization": f"Bearer {token}"}
    )
    assert status == 200 and headers["Access-Control-Allow-Origin"] == other
    status, headers, _ = _with_headers(
        stack, "GET", "/api/wallet", {"Origin": "https://evil.example", "Authorization": f"Bearer {token}"}
    )
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


def test_sign_out_over_http_stops_the_token(stack):
    token = _token(stack, "0x" + "43" * 20)
    assert stack.call("GET", "/api/wallet", token=token)[0] == 200
    assert stack.call("POST", "/api/auth/logout", token=token)[0] == 204
    # The local policy cache lasts ReauthorizeEvery (30 s), as in API Gateway; a new token of the same
    # user is unaffected, and the signed-out one is refused once its cached policy expires.
    fresh = _token(stack, "0x" + "43" * 20)
    assert stack.call("GET", "/api/wallet", token=fresh)[0] == 200


def test_job_slice_over_http(stack):
    token = _token(stack, "0x" + "42" * 20)
    status, body = stack.call("PATCH", "/api/user", {"username": "e2e_user"}, token=token)
    assert status == 200, body
    assert body["walletAddress"] == "0x" + "42" * 20

    status, body = stack.call("PATCH", "/api/user", {"username": "x"}, token=token)
    assert status == 400
    assert body == {"error": "Validation failed", "details": ["username: String should have at least 3 characters"]}

    # The worker, fed by the SQS mapping, writes the audit row shortly after.
    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        deadline = time.monotonic() + 15
        rows: list[Any] = []
        while time.monotonic() < deadline and not rows:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT action, new_values FROM audit_logs")).all()
            time.sleep(0.1)
    finally:
        engine.dispose()
    assert rows == [("user.update", {"username": "e2e_user"})]


def test_schedule_on_demand(stack):
    status, body = stack.call("POST", "/_local/schedules/ChainPollerFunction.Poll")
    assert status == 200 and body["chainId"] == 31337
    status, body = stack.call("POST", "/_local/schedules/NightlyStatsFunction")
    assert status == 200 and body["activeUsers"] >= 1


def _sign_in(stack: Stack, account: Any) -> dict[str, Any]:
    """Sign-In with Ethereum over HTTP with an eth-account key; the session (token, user)."""
    from eth_account.messages import encode_defunct

    status, grant = stack.call("POST", "/api/auth/nonce", {"address": account.address})
    assert status == 201, grant
    signature = "0x" + account.sign_message(encode_defunct(text=grant["message"])).signature.hex().removeprefix("0x")
    status, session = stack.call("POST", "/api/auth/verify", {"message": grant["message"], "signature": signature})
    assert status == 200, session
    return session


def _play_round(stack: Stack, token: str, bet: str = "10") -> dict[str, Any]:
    """One round over HTTP, standing whenever allowed; the ended game."""
    status, game = stack.call("POST", "/api/game", {"betAmount": bet}, token=token)
    assert status == 201, game
    while game["state"] != "ENDED":
        action = "stand" if "stand" in game["legalActions"] else game["legalActions"][0]
        status, game = stack.call("POST", "/api/game/action", {"gameId": game["id"], "action": action}, token=token)
        assert status == 200, game
    return game


def test_sign_in_play_and_read_back_over_http(stack):
    from eth_account import Account

    session = _sign_in(stack, Account.create())
    token = session["token"]
    assert session["user"]["balance"] == "100", "the local stack's sign-up bonus"

    game = _play_round(stack, token)
    balance = Decimal(game["balance"])
    assert balance == Decimal(100) - Decimal(game["betAmount"]) + Decimal(game["winAmount"]) - (
        Decimal(game["totalWagered"]) - Decimal(game["betAmount"])
    )

    status, verified = stack.call("GET", f"/api/game/{game['id']}/verify", token=token)
    assert status == 200 and verified["valid"] is True

    status, history = stack.call("GET", "/api/history?limit=5", token=token)
    assert status == 200 and [g["id"] for g in history["games"]] == [game["id"]]
    status, ledger = stack.call("GET", "/api/transactions", token=token)
    assert status == 200
    assert sum(Decimal(t["amount"]) for t in ledger["transactions"]) == balance

    # The stats job runs in the worker behind SQS: the precomputed stats catch up.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, stats = stack.call("GET", "/api/stats", token=token)
        if stats.get("totalHands") == 1:
            break
        time.sleep(0.2)
    assert stats["totalHands"] == 1


def test_the_local_dashboard_charts_what_the_stack_served_and_the_console_has_no_metric_lines(stack):
    """/_local/dashboard: every panel of the shared definition (ops/dashboard.py) as a chart, drawn
    from the metrics file the containers and the gateway write; the console keeps none of it."""
    import re
    from html import escape

    from eth_account import Account

    from ops.dashboard import dashboard_panels

    token = _sign_in(stack, Account.create())["token"]
    _play_round(stack, token)

    def page() -> str:
        with urllib.request.urlopen(stack.base + "/_local/dashboard?minutes=5&period=10", timeout=10) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
            return response.read().decode()

    def requests_shown(html: str) -> float:
        found = re.search(r"API requests.*?requests: <b>([0-9.]+)", html, re.S)
        return float(found.group(1)) if found else 0.0

    def rounds_shown(html: str) -> float:
        found = re.search(r"Rounds per minute.*?: <b>([0-9.]+)</b>", html, re.S)
        return float(found.group(1)) if found else 0.0

    html = _wait_for(page, lambda h: requests_shown(h) > 0 and rounds_shown(h) > 0, seconds=30)
    assert requests_shown(html) > 0, "the gateway's requests reach the API panel"
    assert rounds_shown(html) > 0, "the worker's business figures (the round's stats job) reach theirs"
    panels = dashboard_panels()
    assert html.count("<svg") >= len(panels) and "<script" not in html
    for panel in panels:
        assert escape(panel.title) in html, panel.title
    assert '"CloudWatchMetrics"' not in stack.log.read_text(), "metric lines go to the metrics file"
    assert '"CloudWatchMetrics"' in (stack.data_dir / "metrics.jsonl").read_text()


def _wait_for(read: Any, done: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_chain_flow_over_http_and_the_local_chain(stack):
    """Sign in, faucet, deposit, play, withdraw: every balance and ledger row right, on chain and off."""
    from eth_account import Account

    from devstack.chain import DEV_KEYS, Deployment, contracts_of, send, web3_for

    deployment = Deployment.from_json((stack.data_dir / "chain" / "deployment.json").read_text())
    w3 = web3_for(deployment.rpc_url)
    token_contract, vault, faucet = contracts_of(w3, deployment)
    player = Account.from_key(DEV_KEYS[5])
    gbc = 10**18
    on_chain = token_contract.functions.balanceOf(player.address).call()

    token = _sign_in(stack, player)["token"]

    def wallet() -> dict[str, Any]:
        return stack.call("GET", "/api/wallet", token=token)[1]

    # Faucet: claimed on chain, seen by the poller after the confirmations, credited by the worker.
    send(w3, player.key, faucet.functions.claim())
    assert _wait_for(wallet, lambda w: w["balance"] == "200")["balance"] == "200"  # 100 bonus + 100 drip

    # Deposit: the intent says how; approve + deposit on chain; credited once.
    status, intent = stack.call("POST", "/api/deposit", {"amount": "50", "currency": "GBC"}, token=token)
    assert status in (200, 201), intent
    assert intent["vaultAddress"].lower() == deployment.vault.lower()
    send(w3, player.key, token_contract.functions.approve(vault.address, int(intent["amountWei"])))
    send(w3, player.key, vault.functions.deposit(int(intent["amountWei"])))
    assert _wait_for(wallet, lambda w: w["balance"] == "250")["totalDeposited"] == "50"

    after_game = Decimal(_play_round(stack, token)["balance"])

    # Withdraw: held at once, paid by the vault against the voucher, COMPLETED once the poller sees it.
    status, held = stack.call("POST", "/api/withdraw", {"amount": "30", "walletAddress": player.address}, token=token)
    assert status in (200, 201), held
    assert Decimal(held["balance"]) == after_game - 30
    message = held["voucher"]["message"]
    send(
        w3,
        player.key,
        vault.functions.withdraw(
            int(message["amount"]),
            int(message["nonce"]),
            int(message["deadline"]),
            bytes.fromhex(held["voucher"]["signature"][2:]),
        ),
    )
    summary = _wait_for(wallet, lambda w: not w["pendingWithdrawals"])
    assert summary["pendingWithdrawals"] == [], summary
    assert Decimal(summary["balance"]) == after_game - 30
    assert summary["totalWithdrawn"] == "30"
    # On chain: +100 faucet, -50 deposit, +30 withdrawal.
    assert token_contract.functions.balanceOf(player.address).call() == on_chain + 80 * gbc

    status, ledger = stack.call("GET", "/api/transactions?limit=50", token=token)
    assert status == 200
    types = [t["type"] for t in reversed(ledger["transactions"])]
    assert types[:3] == ["SIGNUP_BONUS", "FAUCET", "DEPOSIT"]
    assert types[-1] == "WITHDRAWAL"
    assert sum(Decimal(t["amount"]) for t in ledger["transactions"]) == Decimal(summary["balance"])
    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            statuses = conn.execute(
                text("SELECT event, status FROM chain_events WHERE args->>'account' = :a ORDER BY block_number"),
                {"a": player.address.lower()},
            ).all()
            withdrawal = conn.execute(text("SELECT status, tx_hash FROM withdrawals")).one()
            intent_status = conn.execute(
                text("SELECT status FROM deposit_intents WHERE id = :i"), {"i": intent["intentId"]}
            ).scalar_one()
    finally:
        engine.dispose()
    assert statuses == [("FaucetClaim", "processed"), ("Deposit", "processed"), ("Withdraw", "processed")]
    assert withdrawal.status == "COMPLETED" and withdrawal.tx_hash
    assert intent_status == "COMPLETED"


def _dev_user(stack: Stack, wallet: str) -> tuple[str, str]:
    """(token, user id) of a dev user, as `devstack token --env` prints them."""
    result = subprocess.run(
        ["python", "-m", "devstack", "--data-dir", str(stack.data_dir), "token", "--env", wallet],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"},
    )
    shell = dict(line.split("=", 1) for line in result.stdout.split())
    return shell["TOKEN"], shell["USER_ID"]


def _connect(url: str, ticket: str | None) -> Any:
    from websockets.sync.client import connect

    return connect(url if ticket is None else f"{url}?ticket={ticket}", open_timeout=10)


def _pushes_until(ws: Any, wanted: set[str], timeout: float = 15) -> dict[str, dict[str, Any]]:
    got: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while not wanted <= set(got):
        left = deadline - time.monotonic()
        assert left > 0, f"pushes received: {sorted(got)}; waiting for {sorted(wanted - set(got))}"
        event = json.loads(ws.recv(timeout=left))
        got[event["type"]] = event
    return got


def _play_to_the_end(stack: Stack, token: str) -> dict[str, Any]:
    status, game = stack.call("POST", "/api/game", {"betAmount": "1"}, token=token)
    assert status == 201, game
    while game["state"] != "ENDED":
        status, game = stack.call("POST", "/api/game/action", {"gameId": game["id"], "action": "stand"}, token=token)
        assert status == 200, game
    return game


def test_a_ticket_opens_the_push_stream_and_a_round_pushes_its_end_and_the_balance(stack):
    token = _token(stack, "0x" + "46" * 20)
    status, grant = stack.call("POST", "/api/realtime/ticket", token=token)
    assert status == 201 and grant["url"].startswith("ws://") and len(grant["ticket"]) >= 32, grant
    with _connect(grant["url"], grant["ticket"]) as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
        game = _play_to_the_end(stack, token)
        pushes = _pushes_until(ws, {"game.ended", "balance.changed"})
    assert pushes["game.ended"]["data"]["game"]["id"] == game["id"]
    assert pushes["game.ended"]["data"]["game"]["result"] == game["result"]
    assert set(pushes["balance.changed"]) == {"type", "data", "at"}
    _, wallet = stack.call("GET", "/api/wallet", token=token)
    assert pushes["balance.changed"]["data"]["balance"] in (wallet["balance"], "99"), "the bet, or the settlement"


def test_a_reused_expired_or_unknown_ticket_is_refused(stack):
    import boto3
    from websockets.exceptions import InvalidStatus

    token, user_id = _dev_user(stack, "0x" + "47" * 20)
    _, grant = stack.call("POST", "/api/realtime/ticket", token=token)
    with _connect(grant["url"], grant["ticket"]):
        pass
    for ticket in (grant["ticket"], "not-a-ticket", None):  # used once already; never issued; none
        with pytest.raises(InvalidStatus) as refused:
            _connect(grant["url"], ticket)
        assert refused.value.response.status_code == 401
    # An expired ticket: what issue_ticket writes, past its expiry.
    env = stack.env
    table = boto3.client("dynamodb", endpoint_url=env["SQS_ENDPOINT_URL"], region_name="us-east-1")
    table.put_item(
        TableName=env["REALTIME_TABLE"],
        Item={
            "pk": {"S": "ticket#expired-ticket-0123456789abcdef"},
            "sk": {"S": "ticket"},
            "userId": {"S": user_id},
            "expiresAt": {"N": str(int(time.time()) - 1)},
        },
    )
    with pytest.raises(InvalidStatus) as refused:
        _connect(grant["url"], "expired-ticket-0123456789abcdef")
    assert refused.value.response.status_code == 401


def test_a_gone_connection_is_pruned_when_a_push_meets_it(stack):
    import boto3

    token, user_id = _dev_user(stack, "0x" + "48" * 20)
    env = stack.env
    table = boto3.client("dynamodb", endpoint_url=env["SQS_ENDPOINT_URL"], region_name="us-east-1")
    gone = "Z29uZS1jb25u"  # a connection the WebSocket API no longer has (closed without $disconnect)
    for item in (
        {"pk": {"S": f"user#{user_id}"}, "sk": {"S": f"conn#{gone}"}},
        {"pk": {"S": f"conn#{gone}"}, "sk": {"S": "conn"}, "userId": {"S": user_id}},
    ):
        table.put_item(TableName=env["REALTIME_TABLE"], Item={**item, "expiresAt": {"N": str(int(time.time()) + 600)}})
    _, grant = stack.call("POST", "/api/realtime/ticket", token=token)
    with _connect(grant["url"], grant["ticket"]) as ws:
        _play_to_the_end(stack, token)
        _pushes_until(ws, {"game.ended"})  # the live connection got it; the gone one met a 410
        deadline = time.monotonic() + 10
        while True:
            left = table.query(
                TableName=env["REALTIME_TABLE"],
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"user#{user_id}"}},
            )["Items"]
            if [i["sk"]["S"] for i in left] == [f"conn#{c}" for c in _live(left, gone)]:
                break
            assert time.monotonic() < deadline, left
            time.sleep(0.2)
    assert (
        table.get_item(TableName=env["REALTIME_TABLE"], Key={"pk": {"S": f"conn#{gone}"}, "sk": {"S": "conn"}}).get(
            "Item"
        )
        is None
    )


def _live(items: list[dict[str, Any]], gone: str) -> list[str]:
    return [i["sk"]["S"].removeprefix("conn#") for i in items if i["sk"]["S"] != f"conn#{gone}"]


def test_the_seeds_curl_commands_work_with_a_token(stack):
    """README, "The seed's commands": history with userId, then a stand action carrying userId, as
    the seed's Phase 3 document shows them, with the token and ids of a dev user (`devstack token --env`)."""
    token, user_id = _dev_user(stack, "0x" + "45" * 20)
    status, history = stack.call("GET", f"/api/history?userId={user_id}", token=token)
    assert status == 200 and history["games"] == []
    status, again = stack.call("GET", f"/api/history?userId={user_id}&resultFilter=win", token=token)
    assert status == 200, again
    while True:  # a round with a hand to stand on (a dealt blackjack ends at once)
        status, game = stack.call("POST", "/api/game", {"betAmount": "1"}, token=token)
        assert status == 201, game
        if game["state"] != "ENDED" and "stand" in game["legalActions"]:
            break
    status, ended = stack.call(
        "POST", "/api/game/action", {"gameId": game["id"], "action": "stand", "userId": user_id}, token=token
    )
    assert status == 200 and ended["state"] in ("ENDED", "PLAYER_TURN"), ended
    status, wrong = stack.call("GET", f"/api/history?userId={'0' * 8}-0000-0000-0000-{'0' * 12}", token=token)
    assert status == 403, wrong


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # Debian's (make browser installs it)
WAIT_MS = 45000  # generous: a loaded CI machine, and the chain's confirmations before a deposit is credited


def test_the_play_page_signs_in_plays_a_round_and_shows_the_pushed_balance_in_a_real_browser(stack):
    """Headless Chromium on /play: sign in with the local dev wallet, deal, play the round out, see
    the balance the push stream carried, the history and the game's fairness verified; then deposit
    on the local chain and see it pushed as seen, then credited."""
    from playwright.sync_api import expect, sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make browser` (Debian's chromium)")
    screenshot = stack.data_dir / "play.png"
    # The page signs in as the dev wallet's user: the test reads the same user's wallet through the API.
    address = json.loads(urllib.request.urlopen(stack.base + "/_local/wallet", timeout=10).read())["address"]
    wallet_token = _token(stack, address)

    def api_balance() -> str:
        return str(stack.call("GET", "/api/wallet", token=wallet_token)[1]["balance"])

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.goto(stack.base + "/play")
            page.click("#sign-in")
            try:
                expect(page.locator("#stream")).to_have_text("push stream: on", timeout=WAIT_MS)
            except AssertionError as exc:
                shown_error = page.locator("#error").inner_text()
                raise AssertionError(f"page error: {shown_error!r}; console: {console}") from exc
            try:
                expect(page.locator("#balance")).not_to_have_text("–", timeout=WAIT_MS)  # noqa: RUF001 - the page's dash
                before = page.locator("#balance").inner_text()
                page.fill("#bet", "2")
                page.click("#deal")
                for _ in range(12):  # stand (or whatever is legal) until the round ends (a blackjack ends it at once)
                    page.wait_for_selector("#verify, #actions button", timeout=WAIT_MS)
                    if page.locator("#verify").count():
                        break
                    stand = page.locator('#actions button[data-action="stand"]')
                    (stand if stand.count() else page.locator("#actions button").first).click()
                    page.wait_for_timeout(150)
                expect(page.locator("#verify")).to_be_visible(timeout=WAIT_MS)
                # The round's end reached the page through the push stream, and the balance it shows came from it.
                expect(page.locator('#events li[data-type="game.ended"]')).to_have_count(1, timeout=WAIT_MS)
                expect(page.locator('#events li[data-type="balance.changed"]').first).to_be_visible(timeout=WAIT_MS)
                page.click("#verify")
                expect(page.locator("#verified")).to_have_attribute("data-valid", "true", timeout=WAIT_MS)
                expect(page.locator("#history tr")).to_have_count(1, timeout=WAIT_MS)
                shown = api_balance()
                # The round's last balance change was pushed, and the page shows the balance the API has.
                pushed = page.locator('#events li[data-type="balance.changed"]', has_text=f'"balance":"{shown}"')
                expect(pushed.first).to_be_visible(timeout=WAIT_MS)
                expect(page.locator("#balance")).to_have_text(shown, timeout=WAIT_MS)
                # A deposit on the local chain from the dev wallet: seen by the poller, then credited.
                page.fill("#deposit-amount", "5")
                page.click("#deposit")
                expect(page.locator("#chain-wallet")).to_contain_text("deposit sent: 0x", timeout=WAIT_MS)
                expect(page.locator('#events li[data-type="deposit.seen"]')).to_have_count(1, timeout=WAIT_MS)
                expect(page.locator('#events li[data-type="deposit.credited"]')).to_have_count(1, timeout=WAIT_MS)
                expect(page.locator("#balance")).to_have_text(str(Decimal(shown) + 5), timeout=WAIT_MS)
            except Exception as exc:  # what the page showed, for a failure on a machine we cannot watch
                page.screenshot(path=str(screenshot), full_page=True)
                events = page.locator("#events").inner_text()
                shown_error = page.locator("#error").inner_text()
                raise AssertionError(f"page error {shown_error!r}; events {events!r}; console {console}") from exc
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    print(f"\nscreenshot of /play: {screenshot}")
    assert before.replace(".", "").isdigit(), before
    assert api_balance() == str(Decimal(shown) + 5), "the deposit was credited once"


# Last: it stops the stack.
def test_ctrl_c_stops_everything(stack):
    sqs_endpoint = stack.env["SQS_ENDPOINT_URL"]
    os.killpg(stack.proc.pid, signal.SIGINT)
    stack.proc.wait(timeout=30)  # make itself exits with the signal, as after any Ctrl-C
    log = stack.log.read_text()
    assert "[devstack] stopped" in log, log[-2000:]
    assert "pump" not in log.split("[devstack] stopping")[-1], "pollers stopped before the queue went away"
    assert not (stack.data_dir / "stack.json").exists()
    port = sqs_endpoint.rsplit(":", 1)[1]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(port)), timeout=1):
        pass
    leftovers = subprocess.run(["pgrep", "-f", str(stack.data_dir)], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", "embedded PostgreSQL/Redis still running"
