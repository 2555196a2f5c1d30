"""Sign-In with Ethereum: the nonce is single-use, server-stored and expiring; domain, URI, chain id,
times and the signer are all checked; the first sign-in creates the user with the bonus once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from gbc.auth.tokens import verify_token
from gbc.data.models import AuthNonce, Transaction, TransactionType, User
from gbc.data.transaction import unit_of_work
from tests.support.api import call_api
from tests.support.wallets import new_wallet, sign, sign_in


def _nonce(wallet) -> dict:
    response = call_api("POST", "/api/auth/nonce", body={"address": wallet.address}, function="auth_app")
    assert response.status == 201
    return response.body


def _verify(message: str, signature: str):
    return call_api("POST", "/api/auth/verify", body={"message": message, "signature": signature}, function="auth_app")


def test_first_sign_in_creates_the_user_with_the_bonus_once(db, override_settings):
    override_settings(SIGNUP_BONUS="100")
    wallet = new_wallet()
    first = sign_in(wallet)
    assert first["newUser"] is True
    assert first["user"]["walletAddress"] == wallet.address  # checksummed
    assert first["user"]["balance"] == "100"
    principal = verify_token(first["token"])
    assert str(principal.user_id) == first["user"]["id"]

    second = sign_in(wallet)
    assert second["newUser"] is False and second["user"]["balance"] == "100"
    with unit_of_work() as uow:
        bonuses = uow.session.scalar(
            select(func.count()).select_from(Transaction).where(Transaction.type == TransactionType.SIGNUP_BONUS)
        )
        user = uow.session.scalars(select(User)).one()
    assert bonuses == 1 and user.balance == Decimal(100) and user.last_login_at is not None


def test_a_nonce_works_once(db):
    wallet = new_wallet()
    grant = _nonce(wallet)
    signature = sign(wallet, grant["message"])
    assert _verify(grant["message"], signature).status == 200
    replay = _verify(grant["message"], signature)
    assert replay.status == 401 and replay.body["details"] == {"field": "nonce"}


def test_an_expired_nonce_is_refused(db):
    wallet = new_wallet()
    grant = _nonce(wallet)
    with unit_of_work() as uow:
        uow.session.execute(update(AuthNonce).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    response = _verify(grant["message"], sign(wallet, grant["message"]))
    assert response.status == 401


def test_a_signature_by_another_wallet_is_refused(db):
    wallet, other = new_wallet(), new_wallet()
    grant = _nonce(wallet)
    response = _verify(grant["message"], sign(other, grant["message"]))
    assert response.status == 401 and response.body["details"] == {"field": "signature"}


def test_a_nonce_issued_to_another_address_is_refused(db):
    wallet, other = new_wallet(), new_wallet()
    grant = _nonce(other)
    message = grant["message"].replace(other.address, wallet.address)
    response = _verify(message, sign(wallet, message))
    assert response.status == 401 and response.body["details"] == {"field": "nonce"}


def _tampered(wallet, old: str, new: str):
    grant = _nonce(wallet)
    message = grant["message"].replace(old, new)
    assert message != grant["message"]
    return _verify(message, sign(wallet, message))


def test_domain_uri_and_chain_id_are_checked(db):
    wallet = new_wallet()
    assert _tampered(wallet, "localhost:3000 wants", "evil.example wants").body["details"] == {"field": "domain"}
    assert _tampered(wallet, "URI: http://localhost:3000", "URI: https://evil.example").body["details"] == {
        "field": "uri"
    }
    assert _tampered(wallet, "Chain ID: 31337", "Chain ID: 1").body["details"] == {"field": "chainId"}


def test_expired_message_and_future_issue_time_are_refused(db):
    wallet = new_wallet()
    grant = _nonce(wallet)
    lines = grant["message"].split("\n")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    expired = "\n".join(f"Expiration Time: {past}" if line.startswith("Expiration Time") else line for line in lines)
    assert _verify(expired, sign(wallet, expired)).body["details"] == {"field": "expirationTime"}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    ahead = "\n".join(f"Issued At: {future}" if line.startswith("Issued At") else line for line in lines)
    assert _verify(ahead, sign(wallet, ahead)).body["details"] == {"field": "issuedAt"}


def test_garbage_is_a_clear_4xx(db):
    assert _verify("hello", "0x" + "00" * 65).status == 401
    bad = call_api("POST", "/api/auth/verify", body={"message": "x", "signature": "nope"}, function="auth_app")
    assert bad.status == 400 and bad.body["details"] == [
        "signature: String should match pattern '^0x[0-9a-fA-F]{130}$'"
    ]
    bad_address = call_api("POST", "/api/auth/nonce", body={"address": "0x123"}, function="auth_app")
    assert bad_address.status == 400


def test_lowercase_address_in_message_is_refused(db):
    wallet = new_wallet()
    response = _tampered(wallet, wallet.address, wallet.address.lower())
    assert response.status == 401


def test_a_v_of_0_or_1_signs_in_as_27_or_28_does(db):
    wallet = new_wallet()
    grant = _nonce(wallet)
    signature = sign(wallet, grant["message"])
    v = int(signature[-2:], 16)
    response = _verify(grant["message"], signature[:-2] + f"{v - 27:02x}")
    assert response.status == 200, response.body


def test_a_malformed_signature_of_the_right_length_is_refused_before_the_nonce_is_spent(db):
    wallet = new_wallet()
    grant = _nonce(wallet)
    signature = sign(wallet, grant["message"])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    malformed = [
        signature[:-2] + "1d",  # v = 29
        signature[:-2] + "25",  # v = 37 (EIP-155, a transaction's v)
        "0x" + "00" * 32 + signature[66:],  # r = 0
        signature[:66] + "00" * 32 + signature[-2:],  # s = 0
        signature[:66] + f"{n:064x}" + signature[-2:],  # s = n
    ]
    for bad in malformed:
        response = _verify(grant["message"], bad)
        assert response.status == 401 and response.body["details"] == {"field": "signature"}, bad
    assert _verify(grant["message"], signature).status == 200
