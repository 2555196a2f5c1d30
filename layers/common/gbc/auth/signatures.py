"""Who signed an EIP-191 `personal_sign` message: the public key recovered with libsecp256k1
(coincurve) and the address taken from keccak (eth-hash), instead of eth-account, whose import
(py_ecc, eth-keys, eth-utils, pydantic models) took ~0.5 s of the auth function's cold start.

The answers are eth-account's `Account.recover_message(encode_defunct(text=...), signature=...)`
(tests/unit/test_signatures.py compares them on random keys, messages and malformed signatures),
with one tightening: v must be 27/28 or 0/1. eth-account also takes EIP-155 values (35 and up),
which belong to transactions, not to signed messages; no wallet sends them for `personal_sign`.
Like eth-account, a high s is not refused: its signer is the one of (r, n - s) with the other v,
and the nonce is single use, so malleability gains nothing."""

from __future__ import annotations

import re

from coincurve import PublicKey
from eth_hash.auto import keccak

from gbc.addresses import checksum

# The order of secp256k1's group: r and s are in 1 .. n - 1.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")


class InvalidSignature(ValueError):
    """Malformed (length, v, r or s out of range), or no public key recovers from it."""


def personal_message_hash(text: str) -> bytes:
    """EIP-191 version 0x45: keccak("\\x19Ethereum Signed Message:\\n" + len(body) + body), body UTF-8."""
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a JSON \\ud800 escape
        raise InvalidSignature("message is not encodable as UTF-8") from exc
    return bytes(keccak(b"\x19Ethereum Signed Message:\n" + str(len(body)).encode() + body))


def recover_personal_signer(text: str, signature: str) -> str:
    """The EIP-55 address whose key signed `text` with `personal_sign`; `signature` is 0x + r‖s‖v in hex."""
    if _SIGNATURE.fullmatch(signature) is None:
        raise InvalidSignature("signature must be 0x and 65 bytes in hex")
    raw = bytes.fromhex(signature[2:])
    r, s, v = int.from_bytes(raw[:32]), int.from_bytes(raw[32:64]), raw[64]
    if v in (27, 28):
        v -= 27
    elif v not in (0, 1):
        raise InvalidSignature("v must be 27, 28, 0 or 1")
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise InvalidSignature("r and s must be in 1 .. n - 1")
    digest = personal_message_hash(text)
    try:
        key = PublicKey.from_signature_and_message(raw[:64] + bytes([v]), digest, hasher=None)
    except ValueError as exc:  # r is not the x of a curve point
        raise InvalidSignature("no public key recovers from this signature") from exc
    uncompressed = key.format(compressed=False)  # 0x04 ‖ x ‖ y
    return checksum("0x" + bytes(keccak(uncompressed[1:]))[-20:].hex())


def is_checksum_address(address: str) -> bool:
    """EIP-55: 0x and 40 hex digits whose letters' case is the checksum's (eth-utils' rule)."""
    return re.fullmatch(r"0x[0-9a-fA-F]{40}", address) is not None and checksum(address) == address
