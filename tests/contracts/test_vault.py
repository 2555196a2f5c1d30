"""GBCVault: deposits, and withdrawals with vouchers signed by the backend's own code
(gbc.wallet.voucher.sign_voucher, with settings pointed at the deployed vault)."""

from __future__ import annotations

import os
from typing import Any

from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_bytes
from web3.logs import DISCARD

from devstack.chain import DEV_KEYS
from gbc.wallet.voucher import domain, sign_voucher
from tests.conftest import Chain
from tests.contracts.conftest import ALICE, BOB, DEPLOYER, SIGNER, reverts, transact
from tests.support.chain import latest_timestamp

GBC = 10**18
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def signature_bytes(voucher: dict[str, Any]) -> bytes:
    return to_bytes(hexstr=voucher["signature"])


def withdraw_args(voucher: dict[str, Any]) -> tuple[int, int, int, bytes]:
    message = voucher["message"]
    return int(message["amount"]), int(message["nonce"]), int(message["deadline"]), signature_bytes(voucher)


def deposit(chain: Chain, account: Any, amount: int) -> Any:
    transact(chain.token.functions.approve(chain.deployment.vault, amount), account)
    return transact(chain.vault.functions.deposit(amount), account)


def test_vault_is_wired_to_the_token_and_the_backend_signer(chain: Chain) -> None:
    vault = chain.vault.functions
    assert vault.token().call() == chain.deployment.token
    assert vault.signer().call() == SIGNER.address == Account.from_key(os.environ["SIGNER_PRIVATE_KEY"]).address
    assert vault.owner().call() == DEPLOYER.address
    # The settings the backend signs with point at this vault on this chain.
    assert domain()["verifyingContract"] == chain.deployment.vault
    assert domain()["chainId"] == chain.w3.eth.chain_id == 31337


def test_eip712_digest_matches_eth_account(chain: Chain) -> None:
    from eth_account.messages import encode_typed_data

    from gbc.wallet.voucher import TYPES

    message = {"player": ALICE.address, "amount": 5 * GBC, "nonce": 7, "deadline": 2_000_000_000}
    signable = encode_typed_data(domain_data=domain(), message_types=TYPES, message_data=message)
    assert chain.vault.functions.domain_separator().call() == signable.header
    expected = keccak(b"\x19\x01" + signable.header + signable.body)
    assert chain.vault.functions.withdrawal_digest(ALICE.address, 5 * GBC, 7, 2_000_000_000).call() == expected


def test_deposit_moves_tokens_and_emits_deposit(chain: Chain) -> None:
    receipt = deposit(chain, ALICE, 40 * GBC)
    assert chain.token.functions.balanceOf(ALICE.address).call() == 9_960 * GBC
    assert chain.token.functions.balanceOf(chain.deployment.vault).call() == 1_000_040 * GBC
    (event,) = chain.vault.events.Deposit().process_receipt(receipt, errors=DISCARD)
    assert (event.args.player, event.args.amount) == (ALICE.address, 40 * GBC)
    # The raw log the poller reads: topic0 = keccak("Deposit(address,uint256)"), topic1 = the player.
    (log,) = [log for log in receipt["logs"] if log["address"] == chain.deployment.vault]
    assert bytes(log["topics"][0]) == keccak(b"Deposit(address,uint256)")
    assert bytes(log["topics"][1])[-20:] == to_bytes(hexstr=ALICE.address)
    assert int.from_bytes(bytes(log["data"]), "big") == 40 * GBC


def test_deposit_needs_an_allowance_and_an_amount(chain: Chain) -> None:
    with reverts("insufficient allowance"):
        transact(chain.vault.functions.deposit(GBC), ALICE)
    with reverts("zero amount"):
        transact(chain.vault.functions.deposit(0), ALICE)


def test_withdraw_with_a_backend_voucher_pays_out_and_emits_withdraw(chain: Chain) -> None:
    deadline = latest_timestamp(chain.url) + 3600
    voucher = sign_voucher(ALICE.address, 12 * GBC, 41, deadline)
    assert voucher["signer"] == chain.vault.functions.signer().call()
    assert chain.vault.functions.nonce_used(41).call() is False

    receipt = transact(chain.vault.functions.withdraw(*withdraw_args(voucher)), ALICE)

    assert chain.token.functions.balanceOf(ALICE.address).call() == 10_012 * GBC
    assert chain.token.functions.balanceOf(chain.deployment.vault).call() == 999_988 * GBC
    assert chain.vault.functions.nonce_used(41).call() is True
    (event,) = chain.vault.events.Withdraw().process_receipt(receipt, errors=DISCARD)
    assert (event.args.player, event.args.amount, event.args.nonce) == (ALICE.address, 12 * GBC, 41)
    (log,) = [log for log in receipt["logs"] if log["address"] == chain.deployment.vault]
    assert bytes(log["topics"][0]) == keccak(b"Withdraw(address,uint256,uint256)")


def test_a_nonce_pays_out_once(chain: Chain) -> None:
    deadline = latest_timestamp(chain.url) + 3600
    transact(chain.vault.functions.withdraw(*withdraw_args(sign_voucher(ALICE.address, GBC, 1, deadline))), ALICE)
    with reverts("nonce used"):
        transact(chain.vault.functions.withdraw(*withdraw_args(sign_voucher(ALICE.address, GBC, 1, deadline))), ALICE)
    # The same nonce for another player is used up too: nonces are the backend's, one sequence.
    with reverts("nonce used"):
        transact(chain.vault.functions.withdraw(*withdraw_args(sign_voucher(BOB.address, GBC, 1, deadline))), BOB)
    assert chain.token.functions.balanceOf(ALICE.address).call() == 10_001 * GBC


def test_expired_voucher_is_refused(chain: Chain) -> None:
    now = latest_timestamp(chain.url)
    voucher = sign_voucher(ALICE.address, GBC, 2, now - 1)
    with reverts("expired"):
        transact(chain.vault.functions.withdraw(*withdraw_args(voucher)), ALICE)
    assert chain.vault.functions.nonce_used(2).call() is False


def test_voucher_from_another_signer_is_refused(chain: Chain, override_settings: Any) -> None:
    deadline = latest_timestamp(chain.url) + 3600
    with override_settings(SIGNER_PRIVATE_KEY=DEV_KEYS[5]):  # the backend signs with another key
        forged = sign_voucher(ALICE.address, 50 * GBC, 3, deadline)
    with reverts("bad signature"):
        transact(chain.vault.functions.withdraw(*withdraw_args(forged)), ALICE)


def test_tampered_amount_is_refused(chain: Chain) -> None:
    deadline = latest_timestamp(chain.url) + 3600
    amount, nonce, deadline, signature = withdraw_args(sign_voucher(ALICE.address, GBC, 4, deadline))
    with reverts("bad signature"):
        transact(chain.vault.functions.withdraw(amount * 1000, nonce, deadline, signature), ALICE)
    with reverts("bad signature"):
        transact(chain.vault.functions.withdraw(amount, nonce, deadline + 1, signature), ALICE)


def test_voucher_used_by_another_sender_is_refused(chain: Chain) -> None:
    deadline = latest_timestamp(chain.url) + 3600
    voucher = sign_voucher(ALICE.address, GBC, 5, deadline)
    with reverts("bad signature"):
        transact(chain.vault.functions.withdraw(*withdraw_args(voucher)), BOB)
    # Alice can still use it.
    transact(chain.vault.functions.withdraw(*withdraw_args(voucher)), ALICE)


def test_malleable_and_malformed_signatures_are_refused(chain: Chain) -> None:
    deadline = latest_timestamp(chain.url) + 3600
    amount, nonce, deadline, signature = withdraw_args(sign_voucher(ALICE.address, GBC, 6, deadline))
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the same signer, other half
    bad_v = r + signature[32:64] + bytes([v - 27])  # 0/1 instead of 27/28
    for bad in (high_s, bad_v, signature[:64], b"", b"\x00" * 65):
        with reverts("bad signature"):
            transact(chain.vault.functions.withdraw(amount, nonce, deadline, bad), ALICE)
    transact(chain.vault.functions.withdraw(amount, nonce, deadline, signature), ALICE)


def test_owner_rotates_the_signer(chain: Chain, override_settings: Any) -> None:
    deadline = latest_timestamp(chain.url) + 3600
    old = sign_voucher(ALICE.address, GBC, 8, deadline)
    with reverts("not owner"):
        transact(chain.vault.functions.set_signer(ALICE.address), ALICE)
    new_signer = Account.from_key(DEV_KEYS[6])
    transact(chain.vault.functions.set_signer(new_signer.address), DEPLOYER)
    with reverts("bad signature"):
        transact(chain.vault.functions.withdraw(*withdraw_args(old)), ALICE)
    with override_settings(SIGNER_PRIVATE_KEY=DEV_KEYS[6]):
        new = sign_voucher(ALICE.address, GBC, 8, deadline)
    transact(chain.vault.functions.withdraw(*withdraw_args(new)), ALICE)
