"""Roles and revert helpers for the contract tests (the `chain` fixture lives in tests/conftest.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_account import Account
from web3.exceptions import ContractLogicError, Web3RPCError

from devstack.chain import DEV_KEYS, send

# Dev accounts by role (all funded with 10,000 GBC by the deployment). #0 deploys, #1 signs vouchers.
DEPLOYER, SIGNER, ALICE, BOB, CAROL = (Account.from_key(key) for key in DEV_KEYS[:5])


def transact(fn: Any, account: Any, gas: int | None = None) -> Any:
    """Send a contract call from account; returns the receipt."""
    return send(fn.w3, account.key, fn, gas=gas)


def reverts(reason: str) -> Any:
    """The transaction reverts with exactly this reason string (hardhat's wording): at the gas
    estimate (ContractLogicError) or, when gas was given, when hardhat mines it (Web3RPCError)."""
    return pytest.raises((ContractLogicError, Web3RPCError), match=rf"reason string '{re.escape(reason)}'")
