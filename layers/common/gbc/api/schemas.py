"""Request schemas (the seed's seven Zod schemas as pydantic models, plus sign-in), validated by
Powertools before any database access. Money is accepted as a JSON number or string and kept as
Decimal; a `userId` is accepted for compatibility and must name the caller."""

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field


def _no_float_noise(value: object) -> object:
    # A JSON number like 0.1 arrives as a float; go through its shortest repr, not its binary value.
    return repr(value) if isinstance(value, float) else value


# NUMERIC(38,18) holds 20 digits before the point: a larger amount would pass max_digits and then
# overflow in PostgreSQL.
Money = Annotated[
    Decimal, BeforeValidator(_no_float_noise), Field(gt=0, lt=Decimal(10) ** 20, max_digits=38, decimal_places=18)
]
# Bets carry at most 8 decimals, so every payout (3:2, half back on surrender) stays exact in
# NUMERIC(38,18).
Stake = Annotated[Decimal, BeforeValidator(_no_float_noise), Field(gt=0, max_digits=30, decimal_places=8)]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
Currency = Literal["GBC"]


class Request(BaseModel):
    # defer_build (here and below): built when Powertools first validates a body of this type, so a
    # cold start pays only for its own request's schema (EmailStr's email-validator: a profile edit's).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True, defer_build=True)

    user_id: uuid.UUID | None = Field(None, alias="userId")


class GameCreate(Request):
    bet_amount: Stake = Field(alias="betAmount")
    client_seed: str | None = Field(None, alias="clientSeed", min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
    session_id: str | None = Field(None, alias="sessionId", max_length=64)


class ActionPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    amount: Stake | None = None  # insurance stake (default and most: half the bet)


class GameAction(Request):
    game_id: uuid.UUID = Field(alias="gameId")
    action: Literal[
        "hit", "stand", "double_down", "insurance", "split", "surrender", "split_hit", "split_stand", "set_ace_value"
    ]
    payload: ActionPayload | None = None


class StorePurchase(Request):
    item_id: str = Field(alias="itemId", min_length=1, max_length=64)
    quantity: int = Field(1, ge=1, le=100)
    currency: Currency = "GBC"


class UserSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    sound_enabled: bool | None = Field(None, alias="soundEnabled")
    music_enabled: bool | None = Field(None, alias="musicEnabled")
    notifications_enabled: bool | None = Field(None, alias="notificationsEnabled")


class UserUpdate(Request):
    username: str | None = Field(None, min_length=3, max_length=20, pattern=r"^[A-Za-z0-9_]+$")
    email: EmailStr | None = Field(None, max_length=254)
    settings: UserSettings | None = None


class DepositInitiate(Request):
    amount: Money
    currency: Currency = "GBC"


class WithdrawalInitiate(Request):
    amount: Money
    wallet_address: Address = Field(alias="walletAddress")


def _any_case(value: object) -> object:
    """The seed's clients send `win` or `Win` too: any case names the same filter."""
    if isinstance(value, str):
        return "all" if value.lower() == "all" else value.upper()
    return value


ResultFilter = Annotated[Literal["all", "WIN", "LOSE", "PUSH", "BLACKJACK"], BeforeValidator(_any_case)]


class NonceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    address: Address


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    message: str = Field(min_length=1, max_length=2048)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
