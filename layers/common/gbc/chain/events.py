"""The contracts' events the backend acts on, and their decoding with eth-abi.

The signatures are those of contracts/GBCVault.vy and contracts/GBCFaucet.vy (a test checks them
against the compiled ABIs); the first argument is indexed, so it sits in topics[1].
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from eth_hash.auto import keccak

from gbc.chain.rpc import Log
from gbc.messages import ChainEventPayload, DepositEventPayload, FaucetEventPayload, WithdrawEventPayload

WEI = Decimal(10) ** 18


@dataclass(frozen=True)
class EventSpec:
    name: str
    signature: str
    data_types: tuple[str, ...]  # the non-indexed arguments, in order
    message: type[ChainEventPayload]  # the job its logs become

    @property
    def topic(self) -> str:
        return "0x" + keccak(self.signature.encode()).hex()


DEPOSIT = EventSpec("Deposit", "Deposit(address,uint256)", ("uint256",), DepositEventPayload)
WITHDRAW = EventSpec("Withdraw", "Withdraw(address,uint256,uint256)", ("uint256", "uint256"), WithdrawEventPayload)
FAUCET_CLAIM = EventSpec("FaucetClaim", "FaucetClaim(address,uint256)", ("uint256",), FaucetEventPayload)
SPECS = {spec.topic: spec for spec in (DEPOSIT, WITHDRAW, FAUCET_CLAIM)}


@dataclass(frozen=True)
class ChainLog:
    """A decoded event: who, how much (in GBC), and for a Withdraw the voucher's nonce."""

    spec: EventSpec
    log: Log
    account: str
    amount_wei: int
    nonce: int | None

    @property
    def amount(self) -> Decimal:
        with localcontext(prec=80):  # exact: a uint256 has at most 78 digits
            return Decimal(self.amount_wei) / WEI

    def args(self) -> dict[str, str]:
        args = {"account": self.account, "amountWei": str(self.amount_wei)}
        if self.nonce is not None:
            args["nonce"] = str(self.nonce)
        return args


def decode_log(log: Log) -> ChainLog | None:
    """The event in a log, or None for a log that is not one of ours (or malformed)."""
    spec = SPECS.get(log.topics[0]) if log.topics else None
    if spec is None or len(log.topics) != 2:
        return None
    account = "0x" + log.topics[1][-40:]
    # eth-abi (~90 ms to import) only once there is a log to decode: an idle poll's cold start skips it.
    from eth_abi import decode
    from eth_abi.exceptions import DecodingError

    try:
        values = decode(list(spec.data_types), bytes.fromhex(log.data.removeprefix("0x")))
    except (DecodingError, ValueError):
        return None
    return ChainLog(spec, log, account, int(values[0]), int(values[1]) if len(values) > 1 else None)
