"""The closed sets of values the schema stores as PostgreSQL enum types; the names and values here are the database's,
so changing one needs a migration."""

import enum

from gbc.blackjack import Result


class TransactionType(enum.StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    GAME_BET = "GAME_BET"
    GAME_WIN = "GAME_WIN"
    GAME_REFUND = "GAME_REFUND"
    FAUCET = "FAUCET"
    STORE_PURCHASE = "STORE_PURCHASE"
    ADMIN_ADJUSTMENT = "ADMIN_ADJUSTMENT"
    SIGNUP_BONUS = "SIGNUP_BONUS"
    # A held withdrawal whose voucher the chain can no longer accept, credited back.
    WITHDRAWAL_REFUND = "WITHDRAWAL_REFUND"
    # A chain credit whose block was orphaned by a reorg, taken back.
    DEPOSIT_REVERSAL = "DEPOSIT_REVERSAL"
    FAUCET_REVERSAL = "FAUCET_REVERSAL"


class TransactionStatus(enum.StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REVERSED = "REVERSED"


class GameState(enum.StrEnum):
    PLAYER_TURN = "PLAYER_TURN"
    DEALER_TURN = "DEALER_TURN"
    ENDED = "ENDED"


# A game's result is the engine's own enum, from the rules to the column (the game_result type).
GameResult = Result


class WithdrawalStatus(enum.StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"


class DepositIntentStatus(enum.StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"


class ChainEventStatus(enum.StrEnum):
    SEEN = "seen"
    ENQUEUED = "enqueued"
    PROCESSED = "processed"
    ORPHANED = "orphaned"
