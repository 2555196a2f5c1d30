"""The playable page at /play (static files in web/play, the same files an S3 bucket behind
CloudFront serves in AWS) and, for a browser without an injected wallet (MetaMask), a local dev
wallet under /_local/wallet: the local stack holds the key of hardhat's dev account #2 (public,
for local chains only), signs the sign-in message with it and sends its faucet and deposit
transactions. Local only: nothing of it is in the template.

    GET  /play, /play/<file>          the page
    GET  /_local/wallet               {address, gbc, eth}: the dev wallet on the local chain
    POST /_local/wallet/sign          {message} -> {signature}: EIP-191 personal_sign
    POST /_local/wallet/faucet        claim the faucet -> {txHash}
    POST /_local/wallet/deposit       {amount} (GBC) -> {txHash}: approve + deposit into the vault
"""

from __future__ import annotations

import json
import mimetypes
import threading
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.chain import DEV_KEYS
from devstack.template import ROOT

PAGE = ROOT / "web" / "play"
WALLET = "/_local/wallet"
WEI = Decimal(10) ** 18


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


class LocalPlay:
    def __init__(self, data_dir: Path, key: str = DEV_KEYS[2]) -> None:
        self.data_dir, self.key = data_dir, key
        self._lock = threading.Lock()  # one transaction at a time: the nonce

    @staticmethod
    def handles(path: str) -> bool:
        return path == "/play" or path.startswith(("/play/", WALLET))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._wallet(request) if request.path.startswith(WALLET) else self._page(request.path)
        return response(environ, start_response)

    def _page(self, path: str) -> Response:
        name = path.removeprefix("/play").strip("/") or "index.html"
        file = (PAGE / name).resolve()
        if not file.is_relative_to(PAGE.resolve()) or not file.is_file():
            return Response("not found\n", 404, content_type="text/plain")
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return Response(file.read_bytes(), 200, content_type=kind, headers={"Cache-Control": "no-cache"})

    # ------------------------------------------------------------------ the dev wallet

    @cached_property
    def _account(self) -> Any:
        from eth_account import Account

        return Account.from_key(self.key)

    def _chain(self) -> tuple[Any, Any, Any, Any, Any]:
        from devstack.chain import Deployment, contracts_of, web3_for

        deployment = Deployment.from_json((self.data_dir / "chain" / "deployment.json").read_text())
        w3 = web3_for(deployment.rpc_url)
        return (w3, deployment, *contracts_of(w3, deployment))

    def _wallet(self, request: Request) -> Response:
        action = request.path.removeprefix(WALLET).strip("/")
        try:
            if request.method == "GET" and action == "":
                return self._balances()
            body = request.get_json(force=True, silent=True) or {}
            if request.method == "POST" and action == "sign":
                return self._sign(str(body.get("message", "")))
            if request.method == "POST" and action in ("faucet", "deposit"):
                with self._lock:
                    return self._transact(action, body)
        except FileNotFoundError:
            return _json({"error": "the local chain is not running (Node.js and npm are needed for it)"}, 503)
        except Exception as exc:  # a revert, the chain down: the page shows it
            return _json({"error": f"{type(exc).__name__}: {exc}"}, 409)
        return _json({"error": f"no {request.method} {request.path}"}, 404)

    def _balances(self) -> Response:
        address = self._account.address
        body: dict[str, Any] = {"address": address}
        try:
            w3, _, token, _, _ = self._chain()
            body["gbc"] = str(Decimal(token.functions.balanceOf(address).call()) / WEI)
            body["eth"] = str(Decimal(w3.eth.get_balance(address)) / WEI)
        except FileNotFoundError:
            pass  # no local chain: the wallet can still sign in
        return _json(body)

    def _sign(self, message: str) -> Response:
        from eth_account.messages import encode_defunct

        if not message:
            return _json({"error": "message: required"}, 400)
        signed = self._account.sign_message(encode_defunct(text=message))
        return _json({"signature": "0x" + bytes(signed.signature).hex()})

    def _transact(self, action: str, body: dict[str, Any]) -> Response:
        from devstack.chain import send

        w3, deployment, token, vault, faucet = self._chain()
        if action == "faucet":
            receipt = send(w3, self.key, faucet.functions.claim())
        else:
            amount = int(Decimal(str(body.get("amount", "0"))) * WEI)
            if amount <= 0:
                return _json({"error": "amount: must be more than 0"}, 400)
            send(w3, self.key, token.functions.approve(deployment.vault, amount))
            receipt = send(w3, self.key, vault.functions.deposit(amount))
        return _json({"txHash": receipt["transactionHash"].to_0x_hex(), "block": receipt["blockNumber"]})
