"""One hardhat node for the tests of this package, with the contracts deployed; every test runs between an
evm_snapshot and an evm_revert, so tests do not see each other's transactions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from web3.exceptions import ContractLogicError, Web3RPCError

from devstack.chain import DEV_KEYS, Deployment, contracts_of, send, web3_for
from tests.support.chain import chain_settings, revert, snapshot, start_chain


@dataclass
class Chain:
    w3: Any
    deployment: Deployment
    token: Any
    vault: Any
    faucet: Any

    @property
    def url(self) -> str:
        return self.deployment.rpc_url


@pytest.fixture(scope="package")
def chain_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Deployment]]:
    """The node lives while this package's tests run (not the whole session)."""
    node, deployment = start_chain(tmp_path_factory.mktemp("chain"))
    try:
        yield web3_for(node.url), deployment
    finally:
        node.stop()


@pytest.fixture
def chain(chain_node: tuple[Any, Deployment]) -> Iterator[Chain]:
    """The deployed contracts, with gbc.settings pointed at them for this test only."""
    w3, deployment = chain_node
    snap = snapshot(deployment.rpc_url)
    try:
        with chain_settings(deployment):
            yield Chain(w3, deployment, *contracts_of(w3, deployment))
    finally:
        revert(deployment.rpc_url, snap)


# Dev accounts by role (all funded with 10,000 GBC by the deployment). #0 deploys, #1 signs vouchers.
DEPLOYER, SIGNER, ALICE, BOB, CAROL = (Account.from_key(key) for key in DEV_KEYS[:5])


def transact(fn: Any, account: Any, gas: int | None = None) -> Any:
    """Send a contract call from account; returns the receipt."""
    return send(fn.w3, account.key, fn, gas=gas)


def reverts(reason: str) -> Any:
    """The transaction reverts with exactly this reason string (hardhat's wording): at the gas
    estimate (ContractLogicError) or, when gas was given, when hardhat mines it (Web3RPCError)."""
    return pytest.raises((ContractLogicError, Web3RPCError), match=rf"reason string '{re.escape(reason)}'")
