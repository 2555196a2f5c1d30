"""Withdrawal vouchers: EIP-712 typed data signed by the backend's signer key, which the vault
contract checks (signer, nonce unused, deadline not passed) before paying out.

    domain  = {name: "GBC Vault", version: "1", chainId, verifyingContract: vault}
    Withdrawal(address player, uint256 amount, uint256 nonce, uint256 deadline)
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from gbc import secret_store
from gbc.addresses import checksum
from gbc.settings import get_settings

TYPES = {
    "Withdrawal": [
        {"name": "player", "type": "address"},
        {"name": "amount", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def domain() -> dict[str, Any]:
    settings = get_settings()
    return {
        "name": "GBC Vault",
        "version": "1",
        "chainId": settings.chain_id,
        "verifyingContract": checksum(settings.vault_address),
    }


def sign_voucher(player: str, amount_wei: int, nonce: int, deadline: int) -> dict[str, Any]:
    message = {"player": checksum(player), "amount": amount_wei, "nonce": nonce, "deadline": deadline}
    signable = encode_typed_data(domain_data=domain(), message_types=TYPES, message_data=message)
    signed = Account.sign_message(signable, private_key=secret_store.signer_private_key(get_settings()))
    return {
        "domain": domain(),
        "types": TYPES,
        "message": {**message, "amount": str(amount_wei), "nonce": str(nonce)},
        "signature": "0x" + signed.signature.hex().removeprefix("0x"),
        "signer": Account.from_key(secret_store.signer_private_key(get_settings())).address,
    }
