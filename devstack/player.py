"""python -m devstack player: act as a player on the local chain, to try the flows by hand.

    python -m devstack player balance                       GBC in the wallet, ETH for gas, faucet timing
    python -m devstack player faucet                        claim the faucet's drip
    python -m devstack player deposit 25                    approve + deposit 25 GBC into the vault
    python -m devstack player withdraw --voucher v.json     submit a voucher from POST /api/withdraw

--key picks the wallet (default: hardhat dev account #2, which the deployment funded with GBC).
The contracts are those of <data dir>/chain/deployment.json, written by `make dev`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from devstack.chain import DEV_KEYS, GBC, Deployment, contracts_of, send, web3_for


def _gbc(amount_wei: int) -> str:
    return f"{Decimal(amount_wei) / GBC:f} GBC"


def _wei(text: str) -> int:
    try:
        value = Decimal(text) * GBC
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text}") from None
    if value <= 0 or value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"not a positive amount of GBC (18 decimals at most): {text}")
    return int(value)


def _reason(error: Exception) -> str:
    match = re.search(r"reason string '([^']*)'", str(error))
    return match.group(1) if match else str(error)


def load_voucher(text: str) -> dict[str, Any]:
    """The voucher object, from POST /api/withdraw's answer ({"voucher": {...}}) or the voucher itself."""
    data = json.loads(text)
    voucher = data.get("voucher", data) if isinstance(data, dict) else None
    if not isinstance(voucher, dict) or "message" not in voucher or "signature" not in voucher:
        raise ValueError('expected {"voucher": {"message": {...}, "signature": "0x..."}} or the voucher object')
    return voucher


def add_parser(sub: Any) -> None:
    """The `player` subcommand of python -m devstack."""
    player = sub.add_parser("player", help="act as a player on the local chain: balance, faucet, deposit, withdraw")
    player.add_argument("--key", default=DEV_KEYS[2], help="the player's private key (default: dev account #2)")
    actions = player.add_subparsers(dest="action", required=True)
    actions.add_parser("balance", help="GBC and ETH balances, faucet timing")
    actions.add_parser("faucet", help="claim the faucet")
    deposit = actions.add_parser("deposit", help="approve and deposit AMOUNT GBC into the vault")
    deposit.add_argument("amount", type=_wei, help="in GBC, e.g. 25 or 0.5")
    withdraw = actions.add_parser("withdraw", help="submit a withdrawal voucher to the vault")
    withdraw.add_argument("--voucher", required=True, help="JSON file from POST /api/withdraw ('-' for stdin)")
    player.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eth_account import Account
    from web3.exceptions import ContractLogicError, Web3RPCError

    path = Path(args.data_dir) / "chain" / "deployment.json"
    if not path.exists():
        print(f"no {path}: start the local stack first (make dev)", file=sys.stderr)
        return 2
    deployment = Deployment.from_json(path.read_text())
    w3 = web3_for(deployment.rpc_url)
    if not w3.is_connected():
        print(f"the chain at {deployment.rpc_url} does not answer: is `make dev` running?", file=sys.stderr)
        return 2
    token, vault, faucet = contracts_of(w3, deployment)
    account = Account.from_key(args.key)
    me = account.address

    def tx(label: str, call: Any) -> None:
        receipt = send(w3, account.key, call)
        print(f"{label}: tx {receipt['transactionHash'].to_0x_hex()} (block {receipt['blockNumber']})")

    def balances() -> None:
        print(f"player {me}: {_gbc(token.functions.balanceOf(me).call())}")
        print(f"vault  {deployment.vault}: {_gbc(token.functions.balanceOf(deployment.vault).call())}")

    try:
        if args.action == "balance":
            balances()
            print(f"gas: {Decimal(w3.eth.get_balance(me)) / 10**18:f} ETH")
            next_claim = faucet.functions.next_claim_time(me).call()
            now = w3.eth.get_block("latest")["timestamp"]
            wait = max(0, next_claim - now)
            print(f"faucet: {_gbc(faucet.functions.drip_amount().call())} per claim; ", end="")
            print("claimable now" if wait == 0 else f"next claim in {wait} s (at {next_claim})")
        elif args.action == "faucet":
            tx("faucet claim", faucet.functions.claim())
            balances()
        elif args.action == "deposit":
            tx("approve", token.functions.approve(deployment.vault, args.amount))
            tx(f"deposit {_gbc(args.amount)}", vault.functions.deposit(args.amount))
            balances()
        elif args.action == "withdraw":
            text = sys.stdin.read() if args.voucher == "-" else Path(args.voucher).read_text()
            try:
                voucher = load_voucher(text)
            except ValueError as exc:
                print(f"{args.voucher}: {exc}\n{text[:300]}", file=sys.stderr)
                return 2
            message = voucher["message"]
            if str(message["player"]).lower() != me.lower():
                print(f"the voucher is for {message['player']}, not {me}: the vault would refuse it", file=sys.stderr)
                return 1
            amount, nonce, deadline = int(message["amount"]), int(message["nonce"]), int(message["deadline"])
            signature = bytes.fromhex(str(voucher["signature"]).removeprefix("0x"))
            tx(f"withdraw {_gbc(amount)} (nonce {nonce})", vault.functions.withdraw(amount, nonce, deadline, signature))
            balances()
    except (ContractLogicError, Web3RPCError) as exc:
        print(f"reverted: {_reason(exc)}", file=sys.stderr)
        return 1
    return 0
