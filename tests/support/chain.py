"""A real local chain for tests: a hardhat node on a free port with the GBC contracts deployed, and
the JSON-RPC helpers to move its clock and snapshot/revert its state.

    node, deployment = start_chain(tmp_dir)       # ... node.stop() when done
    override_settings(**deployment.env())         # gbc.settings pointed at it (the `chain` fixture)

The vault's voucher signer defaults to the address of SIGNER_PRIVATE_KEY (tests/conftest.py sets it
to hardhat account #1), so vouchers from gbc.wallet.voucher.sign_voucher verify on chain.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from devstack.chain import Deployment, LocalNode, deploy, rpc_call, start_node
from devstack.services import free_port


def test_signer_address() -> str:
    from eth_account import Account

    return str(Account.from_key(os.environ["SIGNER_PRIVATE_KEY"]).address)


test_signer_address.__test__ = False  # type: ignore[attr-defined] - a helper, not a test


def start_chain(tmp_dir: Path, signer: str | None = None, **deploy_options: Any) -> tuple[LocalNode, Deployment]:
    """Start a hardhat node (npm ci first if needed) and deploy token, vault and faucet on it.
    deploy_options go to devstack.chain.deploy (drip_amount, cooldown_seconds, ...)."""
    node = start_node(free_port(), Path(tmp_dir) / "hardhat.log")
    try:
        deployment = deploy(node.url, signer=signer or test_signer_address(), **deploy_options)
    except BaseException:
        node.stop()
        raise
    return node, deployment


def snapshot(url: str) -> str:
    return str(rpc_call(url, "evm_snapshot"))


def revert(url: str, snapshot_id: str) -> None:
    assert rpc_call(url, "evm_revert", [snapshot_id]) is True


def latest_timestamp(url: str) -> int:
    return int(rpc_call(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def increase_time(url: str, seconds: int) -> None:
    """Move the clock forward and mine a block, so the next call sees the new time."""
    rpc_call(url, "evm_increaseTime", [seconds])
    rpc_call(url, "evm_mine")


def set_next_timestamp(url: str, timestamp: int) -> None:
    """The next mined block (or transaction) gets exactly this timestamp."""
    rpc_call(url, "evm_setNextBlockTimestamp", [timestamp])


def mine(url: str, blocks: int = 1) -> None:
    rpc_call(url, "hardhat_mine", [hex(blocks)])
