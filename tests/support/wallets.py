"""Real wallets for sign-in tests: eth-account keys that sign the server's EIP-4361 message."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct

from tests.support.api import call_api


def new_wallet():
    return Account.create()


def sign(wallet, message: str) -> str:
    return "0x" + wallet.sign_message(encode_defunct(text=message)).signature.hex().removeprefix("0x")


def sign_in(wallet) -> dict:
    grant = call_api("POST", "/api/auth/nonce", body={"address": wallet.address}, function="auth_app")
    assert grant.status == 201, grant.body
    verified = call_api(
        "POST",
        "/api/auth/verify",
        body={"message": grant.body["message"], "signature": sign(wallet, grant.body["message"])},
        function="auth_app",
    )
    assert verified.status == 200, verified.body
    return verified.body
