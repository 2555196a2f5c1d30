"""What the wallet routes answer: the summary, the ledger pages, a deposit's instructions and a
withdrawal's hold with its signed voucher. The ledger row itself (LedgerEntry) is the ledger's."""

import uuid
from decimal import Decimal
from typing import Literal

from gbc.addresses import checksum
from gbc.data.models import User, Withdrawal, WithdrawalStatus
from gbc.ledger import LedgerEntry
from gbc.views import Money, Timestamp, View

__all__ = [
    "DepositInstructions",
    "DepositStep",
    "LedgerEntry",
    "PendingWithdrawal",
    "TransactionsPage",
    "VoucherDomain",
    "VoucherField",
    "VoucherMessage",
    "WalletSummary",
    "WithdrawalHold",
    "WithdrawalVoucher",
]


class PendingWithdrawal(View):
    """A withdrawal the vault has not paid yet (or, right after the request, the one just held)."""

    id: uuid.UUID
    amount: Money
    to_address: str
    nonce: str  # uint256 as a decimal string
    deadline: Timestamp
    status: WithdrawalStatus
    tx_hash: str | None
    created_at: Timestamp | None

    @classmethod
    def from_row(cls, w: Withdrawal) -> "PendingWithdrawal":
        return cls(
            id=w.id,
            amount=w.amount,
            to_address=checksum(w.to_address),
            nonce=str(int(w.nonce)),
            deadline=w.deadline,
            status=w.status,
            tx_hash=w.tx_hash,
            created_at=w.created_at,
        )


class WalletSummary(View):
    wallet_address: str
    balance: Money
    total_deposited: Money
    total_withdrawn: Money
    pending_withdrawals: list[PendingWithdrawal]
    pending_withdrawal_total: Money

    @classmethod
    def from_user(cls, user: User, pending: list[Withdrawal]) -> "WalletSummary":
        return cls(
            wallet_address=checksum(user.wallet_address),
            balance=user.balance,
            total_deposited=user.total_deposited,
            total_withdrawn=user.total_withdrawn,
            pending_withdrawals=[PendingWithdrawal.from_row(w) for w in pending],
            pending_withdrawal_total=sum((w.amount for w in pending), Decimal(0)),
        )


class TransactionsPage(View):
    """The ledger newest first in its strict order: each row's balanceBefore is the next row's
    balanceAfter."""

    transactions: list[LedgerEntry]
    next_cursor: str | None


class DepositStep(View):
    """One contract call of a deposit: the token's approve, then the vault's deposit."""

    contract: Literal["token", "vault"]
    call: str
    args: list[str]  # addresses checksummed, amounts in wei as decimal strings


class DepositInstructions(View):
    """Where and how to deposit on chain (the intent the poller matches the Deposit event with)."""

    intent_id: uuid.UUID
    amount: Money
    currency: str
    expires_at: Timestamp
    chain_id: int
    token_address: str
    vault_address: str
    amount_wei: str
    steps: list[DepositStep]
    confirmations: int


class VoucherDomain(View):
    """The EIP-712 domain the vault checks."""

    name: str
    version: str
    chain_id: int
    verifying_contract: str


class VoucherField(View):
    name: str
    type: str


class VoucherMessage(View):
    player: str
    amount: str  # wei, as a decimal string
    nonce: str
    deadline: int  # unix seconds


class WithdrawalVoucher(View):
    """The signed EIP-712 Withdrawal the player submits to the vault (gbc.wallet.voucher)."""

    domain: VoucherDomain
    types: dict[str, list[VoucherField]]
    message: VoucherMessage
    signature: str
    signer: str


class WithdrawalHold(View):
    """POST /api/withdraw: the amount is held (debited, withdrawal PENDING) and the voucher signed."""

    withdrawal: PendingWithdrawal
    voucher: WithdrawalVoucher
    balance: Money
