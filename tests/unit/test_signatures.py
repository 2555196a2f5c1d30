"""gbc.auth.signatures against the references it replaces: eth-account's recover_message (what sign-in
used before) and eth-keys' pure-Python backend (an implementation independent of libsecp256k1, which
eth-account itself now uses through coincurve). Same signer for every well-formed signature, the same
refusals for malformed ones; the one intended difference is v >= 35, which eth-account takes."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys import KeyAPI
from eth_keys.backends import NativeECCBackend
from eth_utils import is_checksum_address as eth_utils_is_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gbc.auth.signatures import (
    SECP256K1_N,
    InvalidSignature,
    is_checksum_address,
    personal_message_hash,
    recover_personal_signer,
)

NATIVE = KeyAPI(NativeECCBackend)

private_keys = st.integers(min_value=1, max_value=SECP256K1_N - 1)
# Any text a JSON body can carry, SIWE-shaped or not (multi-byte UTF-8 changes the length prefix).
messages = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=600)


def _hex(signature: bytes) -> str:
    return "0x" + signature.hex()


def _sign(key: int, text: str) -> bytes:
    return bytes(Account.sign_message(encode_defunct(text=text), private_key=key.to_bytes(32)).signature)


def _compose(r: int, s: int, v: int) -> str:
    return _hex(r.to_bytes(32) + s.to_bytes(32) + bytes([v]))


def _eth_account(text: str, signature: str) -> str | None:
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception:  # eth-account raises several types for malformed signatures
        return None


def _native(text: str, signature: str) -> str | None:
    raw = bytes.fromhex(signature[2:])
    v = raw[64] - 27 if raw[64] in (27, 28) else raw[64]
    try:
        key = NATIVE.Signature(vrs=(v, int.from_bytes(raw[:32]), int.from_bytes(raw[32:64])))
        return str(key.recover_public_key_from_msg_hash(personal_message_hash(text)).to_checksum_address())
    except Exception:
        return None


def _ours(text: str, signature: str) -> str | None:
    try:
        return recover_personal_signer(text, signature)
    except InvalidSignature:
        return None


@settings(max_examples=300, deadline=None)
@given(key=private_keys, text=messages, legacy_v=st.booleans())
def test_the_signer_of_any_key_and_message_is_the_one_eth_account_recovers(key: int, text: str, legacy_v: bool):
    signature = _sign(key, text)
    if not legacy_v:  # some hardware wallets send v as 0/1
        signature = signature[:64] + bytes([signature[64] - 27])
    expected = Account.from_key(key.to_bytes(32)).address

    assert recover_personal_signer(text, _hex(signature)) == expected
    assert _eth_account(text, _hex(signature)) == expected
    assert _native(text, _hex(signature)) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=messages,
    r=st.one_of(st.integers(0, 2**256 - 1), st.sampled_from([0, 1, SECP256K1_N - 1, SECP256K1_N, 2**256 - 1])),
    s=st.one_of(st.integers(0, 2**256 - 1), st.sampled_from([0, 1, SECP256K1_N // 2 + 1, SECP256K1_N])),
    v=st.sampled_from([0, 1, 27, 28]) | st.integers(2, 34),
)
def test_arbitrary_r_s_v_are_refused_or_recovered_as_the_references_do(text: str, r: int, s: int, v: int):
    signature = _compose(r, s, v)
    assert _ours(text, signature) == _eth_account(text, signature) == _native(text, signature)


@settings(max_examples=100, deadline=None)
@given(key=private_keys, text=messages)
def test_a_high_s_is_recovered_as_eth_account_does_so_the_flipped_twin_names_the_same_signer(key: int, text: str):
    signature = _sign(key, text)
    s = SECP256K1_N - int.from_bytes(signature[32:64])
    twin = _compose(int.from_bytes(signature[:32]), s, 55 - signature[64])  # 27 <-> 28
    same_v = _compose(int.from_bytes(signature[:32]), s, signature[64])
    expected = Account.from_key(key.to_bytes(32)).address

    assert _ours(text, twin) == _eth_account(text, twin) == expected
    assert _ours(text, same_v) == _eth_account(text, same_v) != expected


@settings(max_examples=50, deadline=None)
@given(key=private_keys, text=messages, v=st.integers(35, 255))
def test_eip155_v_values_are_refused_though_eth_account_takes_them(key: int, text: str, v: int):
    signature = _sign(key, text)
    eip155 = _hex(signature[:64] + bytes([v]))

    assert _eth_account(text, eip155) is not None
    with pytest.raises(InvalidSignature, match="v must be"):
        recover_personal_signer(text, eip155)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "0x",
        "0x" + "11" * 64,  # 64 bytes: no v
        "0x" + "11" * 64 + "1b00",  # 66 bytes
        "0x" + "11" * 64 + "1",  # odd length
        "11" * 64 + "1b",  # no 0x
        "0x" + "zz" * 64 + "1b",
        "0x" + "11" * 32 + " " + "11" * 32 + "1b",  # bytes.fromhex would skip the space
    ],
)
def test_a_signature_that_is_not_65_bytes_of_hex_is_refused(signature: str):
    with pytest.raises(InvalidSignature):
        recover_personal_signer("hello", signature)
    if signature.startswith("0x") and len(signature) != 132:
        assert _eth_account("hello", signature) is None


@pytest.mark.parametrize(
    ("r", "s", "reason"),
    [
        (0, 1, "r and s"),
        (1, 0, "r and s"),
        (SECP256K1_N, 1, "r and s"),
        (1, SECP256K1_N, "r and s"),
        (2**256 - 1, 1, "r and s"),
    ],
)
def test_r_or_s_of_zero_or_at_least_n_is_refused(r: int, s: int, reason: str):
    signature = _compose(r, s, 27)
    with pytest.raises(InvalidSignature, match=reason):
        recover_personal_signer("hello", signature)
    assert _eth_account("hello", signature) is None


def test_a_message_with_a_lone_surrogate_is_refused_not_raised():
    with pytest.raises(InvalidSignature):
        recover_personal_signer("\ud800", _hex(_sign(1, "x")))


@given(key=private_keys, lower=st.booleans())
def test_checksum_addresses_are_recognised_as_eth_utils_does(key: int, lower: bool):
    address = Account.from_key(key.to_bytes(32)).address
    candidate = address.lower() if lower else address
    assert is_checksum_address(candidate) == eth_utils_is_checksum_address(candidate)
    assert is_checksum_address(address)
