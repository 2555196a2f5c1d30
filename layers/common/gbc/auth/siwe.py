"""Sign-In with Ethereum (EIP-4361) messages: building the one we hand out, parsing what comes back.

The `siwe` package pins eth-account < 0.14 and web3 < 8 and skips the chain id check, so the message is
parsed here (the grammar is small) and every field is checked by the caller; the signer is
recovered in gbc.auth.signatures (libsecp256k1 through coincurve, not eth-account).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

MAX_MESSAGE_LENGTH = 2048

_MESSAGE = re.compile(
    r"^(?P<domain>[^\s/]{1,255}) wants you to sign in with your Ethereum account:\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n"
    r"\n"
    r"(?:(?P<statement>[^\n]{1,256})\n\n)?"
    r"URI: (?P<uri>[^\s]{1,512})\n"
    r"Version: (?P<version>1)\n"
    r"Chain ID: (?P<chain_id>[0-9]{1,20})\n"
    r"Nonce: (?P<nonce>[A-Za-z0-9]{8,32})\n"
    r"Issued At: (?P<issued_at>[0-9T:.+\-Z]{20,35})"
    r"(?:\nExpiration Time: (?P<expiration_time>[0-9T:.+\-Z]{20,35}))?"
    r"(?:\nNot Before: (?P<not_before>[0-9T:.+\-Z]{20,35}))?"
    r"(?:\nRequest ID: (?P<request_id>[^\n]{0,128}))?"
    r"(?:\nResources:(?P<resources>(?:\n- [^\s]{1,512}){1,20}))?$"
)

STATEMENT = "Sign in to GBC Blackjack."


class InvalidMessage(ValueError):
    pass


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None

    def text(self) -> str:
        lines = [f"{self.domain} wants you to sign in with your Ethereum account:", self.address, ""]
        if self.statement:
            lines += [self.statement, ""]
        lines += [
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_iso(self.issued_at)}",
        ]
        if self.expiration_time:
            lines.append(f"Expiration Time: {_iso(self.expiration_time)}")
        if self.not_before:
            lines.append(f"Not Before: {_iso(self.not_before)}")
        return "\n".join(lines)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidMessage(f"{field} is not an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise InvalidMessage(f"{field} must carry a time zone")
    return moment


def parse(message: str) -> SiweMessage:
    if len(message) > MAX_MESSAGE_LENGTH:
        raise InvalidMessage("message is too long")
    match = _MESSAGE.match(message.replace("\r\n", "\n"))
    if match is None:
        raise InvalidMessage("not an EIP-4361 sign-in message")
    fields = match.groupdict()
    issued_at = _time(fields["issued_at"], "Issued At")
    assert issued_at is not None
    return SiweMessage(
        domain=fields["domain"],
        address=fields["address"],
        statement=fields["statement"],
        uri=fields["uri"],
        version=fields["version"],
        chain_id=int(fields["chain_id"]),
        nonce=fields["nonce"],
        issued_at=issued_at,
        expiration_time=_time(fields["expiration_time"], "Expiration Time"),
        not_before=_time(fields["not_before"], "Not Before"),
    )
