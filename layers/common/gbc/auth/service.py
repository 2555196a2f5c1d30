"""Sign-in: a server-stored, single-use, expiring nonce; a signed EIP-4361 message checked field by
field; the signer recovered with libsecp256k1 (gbc.auth.signatures); the user created on first
sign-in (with the sign-up bonus, once); a session JWT."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from gbc.addresses import checksum
from gbc.auth import siwe
from gbc.auth.signatures import InvalidSignature, is_checksum_address, recover_personal_signer
from gbc.auth.tokens import issue_token
from gbc.auth.views import NonceGrant, SignedIn
from gbc.data.models import AuthNonce, TransactionType, User
from gbc.data.transaction import UnitOfWork, unit_of_work
from gbc.errors import DomainError
from gbc.ledger import apply_balance_change
from gbc.messages import AuditLogPayload
from gbc.queue.outbox import enqueue_job
from gbc.settings import get_settings
from gbc.users.service import RequestMeta
from gbc.users.views import UserProfile

CLOCK_SKEW = timedelta(minutes=5)


class SignInFailed(DomainError):
    status = 401  # type: ignore[assignment]


def issue_nonce(address: str) -> NonceGrant:
    """A fresh nonce bound to the address, and the exact message for the wallet to sign."""
    settings = get_settings()
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=settings.auth_nonce_ttl_seconds)
    nonce = secrets.token_hex(16)
    with unit_of_work() as uow:
        uow.session.add(AuthNonce(nonce=nonce, address=address.lower(), expires_at=expires))
    message = siwe.SiweMessage(
        domain=settings.siwe_domain,
        address=checksum(address),
        statement=siwe.STATEMENT,
        uri=settings.siwe_uri,
        version="1",
        chain_id=settings.chain_id,
        nonce=nonce,
        issued_at=now,
        expiration_time=expires,
    )
    return NonceGrant(nonce=nonce, message=message.text(), expires_at=expires)


def _check_fields(message: siwe.SiweMessage, now: datetime) -> None:
    settings = get_settings()
    if message.domain != settings.siwe_domain:
        raise SignInFailed("message domain does not match", field="domain")
    if message.uri != settings.siwe_uri:
        raise SignInFailed("message URI does not match", field="uri")
    if message.chain_id != settings.chain_id:
        raise SignInFailed("message chain id does not match", field="chainId")
    if not is_checksum_address(message.address):
        raise SignInFailed("address must be EIP-55 checksummed", field="address")
    if message.issued_at > now + CLOCK_SKEW:
        raise SignInFailed("message is issued in the future", field="issuedAt")
    if message.expiration_time is not None and message.expiration_time <= now:
        raise SignInFailed("message has expired", field="expirationTime")
    if message.not_before is not None and message.not_before > now + CLOCK_SKEW:
        raise SignInFailed("message is not valid yet", field="notBefore")


def _recover(text: str, signature: str) -> str:
    try:
        return recover_personal_signer(text, signature)
    except InvalidSignature as exc:
        raise SignInFailed("signature is not valid", field="signature") from exc


def sign_in(message_text: str, signature: str, meta: RequestMeta) -> SignedIn:
    try:
        message = siwe.parse(message_text)
    except siwe.InvalidMessage as exc:
        raise SignInFailed(str(exc), field="message") from exc
    now = datetime.now(UTC)
    _check_fields(message, now)
    if _recover(message_text.replace("\r\n", "\n"), signature).lower() != message.address.lower():
        raise SignInFailed("signature was not made by the message's address", field="signature")
    wallet = message.address.lower()
    with unit_of_work() as uow:
        # Single use: only the first request to flip used_at gets the row back.
        used = uow.session.execute(
            update(AuthNonce)
            .where(
                AuthNonce.nonce == message.nonce,
                AuthNonce.used_at.is_(None),
                AuthNonce.expires_at > now,
                AuthNonce.address == wallet,
            )
            .values(used_at=now)
            .returning(AuthNonce.nonce)
        ).first()
        if used is None:
            raise SignInFailed("nonce is unknown, used, expired or issued to another address", field="nonce")
        created = uow.session.execute(
            insert(User).values(wallet_address=wallet).on_conflict_do_nothing().returning(User.id)
        ).first()
        user = uow.session.scalars(select(User).where(User.wallet_address == wallet)).one()
        if created is not None:
            grant_signup_bonus(uow, user.id)
        user.last_login_at = now
        enqueue_job(
            AuditLogPayload(
                userId=user.id,
                action="auth.sign_in",
                resource="user",
                resourceId=str(user.id),
                newValues={"newUser": created is not None},
                ipAddress=meta.ip_address,
                userAgent=meta.user_agent,
            ),
            uow,
        )
        uow.session.flush()
        profile = UserProfile.from_row(user)
    return SignedIn(token=issue_token(user.id, wallet), user=profile, new_user=created is not None)


def grant_signup_bonus(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """A new user's SIGNUP_BONUS (once: its ledger reference is the user), when one is configured."""
    bonus = get_settings().signup_bonus
    if bonus > 0:
        apply_balance_change(uow, user_id, TransactionType.SIGNUP_BONUS, bonus, f"signup:{user_id}")
