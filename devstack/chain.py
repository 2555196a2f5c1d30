"""The local chain: a hardhat node (npm, devstack/localchain) and the GBC contracts deployed on it.

    ensure_node_modules()                      npm ci when node_modules is missing or stale
    node = start_node(port, log_path)          `hardhat node` on 127.0.0.1:port; node.url, node.stop()
    deployment = deploy(node.url)              token, vault, faucet; liquidity and dev balances
    deployment.env()                           CHAIN_RPC_URL, CHAIN_ID, TOKEN_ADDRESS, ... for the handlers

Hardhat keeps its chain in memory: every start is a fresh chain (chain id 31337), and on a fresh
node the token (the deployer's first transaction) lands at TOKEN_ADDRESS_ON_FRESH_NODE.
web3 is a dev/test dependency: import this module only from devstack, the tests and the benchmarks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devstack.template import ROOT

LOCALCHAIN_DIR = ROOT / "devstack" / "localchain"
CHAIN_ID = 31337
# Hardhat's default accounts (mnemonic "test test ... junk"): public keys, for local chains only.
DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
DEPLOYER_KEY = DEV_KEYS[0]
TOKEN_ADDRESS_ON_FRESH_NODE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # noqa: S105 - an address
GBC = 10**18
DEFAULT_DRIP = 100 * GBC
DEFAULT_COOLDOWN = 86_400
DEFAULT_VAULT_LIQUIDITY = 1_000_000 * GBC
DEFAULT_DEV_FUNDING = 10_000 * GBC
START_TIMEOUT = 60.0


def _npm_env() -> dict[str, str]:
    return {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "npm_config_update_notifier": "false"}


def ensure_node_modules(localchain_dir: Path = LOCALCHAIN_DIR) -> None:
    """`npm ci` in devstack/localchain when node_modules is missing or older than package-lock.json.
    A lock on package-lock.json keeps two concurrent callers (two test sessions) from racing."""
    lock_file = localchain_dir / "package-lock.json"
    marker = localchain_dir / "node_modules" / ".package-lock.json"  # npm writes it on every install

    def stale() -> bool:
        return not marker.exists() or marker.stat().st_mtime < lock_file.stat().st_mtime

    if not stale():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: the local chain needs Node.js 20 and npm (hardhat)")
    with lock_file.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if stale():
                result = subprocess.run(  # noqa: S603 - npm from PATH, fixed arguments
                    [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                    cwd=localchain_dir,
                    env=_npm_env(),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode != 0:
                    raise RuntimeError(f"npm ci failed in {localchain_dir}:\n{result.stdout}\n{result.stderr}")
                marker.touch()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rpc_call(url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
    """One JSON-RPC call over HTTP (no web3): for readiness checks and hardhat's evm_* methods."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310 - http only
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


@dataclass
class LocalNode:
    """A running `hardhat node` (in its own session: Ctrl-C of the parent does not reach it)."""

    url: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def start_node(port: int, log_path: Path, timeout: float = START_TIMEOUT) -> LocalNode:
    """Start `hardhat node` on 127.0.0.1:port and wait until it answers eth_chainId."""
    ensure_node_modules()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node not found: the local chain needs Node.js 20 (hardhat)")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    with log_path.open("ab") as log:
        # The package's own hardhat binary (what `npx hardhat` runs), without npx's wrapper process.
        hardhat = str(LOCALCHAIN_DIR / "node_modules" / ".bin" / "hardhat")
        process = subprocess.Popen(  # noqa: S603 - node running the locked hardhat package
            [node, hardhat, "node", "--hostname", "127.0.0.1", "--port", str(port)],
            cwd=LOCALCHAIN_DIR,
            env=_npm_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    local = LocalNode(url=url, port=port, log_path=log_path, process=process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"hardhat node exited with {process.returncode}; see {log_path}")
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError, RuntimeError):
            if int(rpc_call(url, "eth_chainId", timeout=1.0), 16) == CHAIN_ID:
                return local
        if time.monotonic() > deadline:
            local.stop()
            raise RuntimeError(f"hardhat node did not answer on {url} within {timeout:.0f}s; see {log_path}")
        time.sleep(0.1)


@dataclass
class Deployment:
    """Where the contracts are, and from which block to read their events."""

    chain_id: int
    token: str
    vault: str
    faucet: str
    deployer: str
    signer: str
    start_block: int
    rpc_url: str
    # Hardhat's chain lives in memory: a deployment made by `make dev` is on a chain that began empty.
    fresh_chain: bool = True
    deployed_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Deployment:
        data = json.loads(text)
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})

    def env(self) -> dict[str, str]:
        return {
            "CHAIN_RPC_URL": self.rpc_url,
            "CHAIN_ID": str(self.chain_id),
            "TOKEN_ADDRESS": self.token,
            "VAULT_ADDRESS": self.vault,
            "FAUCET_ADDRESS": self.faucet,
            "CHAIN_START_BLOCK": str(self.start_block),
        }


def web3_for(rpc_url: str) -> Any:
    from web3 import Web3

    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))


def contract(w3: Any, name: str, address: str | None = None) -> Any:
    """A web3 contract from the committed artifact (contracts/build/<name>.json)."""
    from contracts.compile import load_artifact

    artifact = load_artifact(name)
    if address is None:
        return w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    return w3.eth.contract(address=w3.to_checksum_address(address), abi=artifact["abi"])


def contracts_of(w3: Any, deployment: Deployment) -> tuple[Any, Any, Any]:
    """(token, vault, faucet) web3 contracts of a deployment."""
    return (
        contract(w3, "GBCToken", deployment.token),
        contract(w3, "GBCVault", deployment.vault),
        contract(w3, "GBCFaucet", deployment.faucet),
    )


def send(w3: Any, key: str | bytes, call: Any, nonce: int | None = None, gas: int | None = None) -> Any:
    """Sign and send a contract call or constructor with key; returns the receipt (raises if reverted).
    Without `gas` the node estimates it, which runs the call first: a revert raises web3's
    ContractLogicError with the reason. (Hardhat estimates on its own pending block, whose timestamp
    ignores evm_setNextBlockTimestamp: give `gas` when the call depends on that exact time.)"""
    from eth_account import Account

    account = Account.from_key(key)
    params: dict[str, Any] = {
        "from": account.address,
        "nonce": w3.eth.get_transaction_count(account.address, "pending") if nonce is None else nonce,
        "chainId": w3.eth.chain_id,
    }
    if gas is not None:
        params["gas"] = gas
    tx = call.build_transaction(params)
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
    return receipt


def deploy(
    rpc_url: str,
    signer: str | None = None,
    *,
    deployer_key: str = DEPLOYER_KEY,
    drip_amount: int = DEFAULT_DRIP,
    cooldown_seconds: int = DEFAULT_COOLDOWN,
    vault_liquidity: int = DEFAULT_VAULT_LIQUIDITY,
    dev_funding: int = DEFAULT_DEV_FUNDING,
    funded_accounts: int = 10,
) -> Deployment:
    """Deploy token, vault (voucher signer = `signer`, default the deployer) and faucet; make the
    faucet a minter; mint `vault_liquidity` to the vault and `dev_funding` to the first
    `funded_accounts` dev accounts. The token goes first, so a fresh node puts it at
    TOKEN_ADDRESS_ON_FRESH_NODE."""
    from eth_account import Account

    w3 = web3_for(rpc_url)
    deployer = Account.from_key(deployer_key).address
    signer = w3.to_checksum_address(signer or deployer)
    nonce = w3.eth.get_transaction_count(deployer, "pending")

    def tx(call: Any) -> Any:
        nonlocal nonce
        receipt = send(w3, deployer_key, call, nonce)
        nonce += 1
        return receipt

    token_receipt = tx(contract(w3, "GBCToken").constructor())
    token_address = token_receipt["contractAddress"]
    vault_address = tx(contract(w3, "GBCVault").constructor(token_address, signer))["contractAddress"]
    faucet_address = tx(contract(w3, "GBCFaucet").constructor(token_address, drip_amount, cooldown_seconds))[
        "contractAddress"
    ]
    token = contract(w3, "GBCToken", token_address)
    tx(token.functions.set_minter(faucet_address, True))
    tx(token.functions.set_minter(deployer, True))
    if vault_liquidity:
        tx(token.functions.mint(vault_address, vault_liquidity))
    for key in DEV_KEYS[:funded_accounts] if dev_funding else ():
        tx(token.functions.mint(Account.from_key(key).address, dev_funding))
    return Deployment(
        chain_id=int(w3.eth.chain_id),
        token=token_address,
        vault=vault_address,
        faucet=faucet_address,
        deployer=deployer,
        signer=signer,
        start_block=int(token_receipt["blockNumber"]),
        rpc_url=rpc_url,
        deployed_at=time.time(),
    )
