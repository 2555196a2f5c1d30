from __future__ import annotations

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.idempotency import idempotent
from gbc.api.identity import CallerId, same_user
from gbc.api.responses import BEARER, DESCRIPTIONS, IDEMPOTENT, SIGNED_IN, WITH_BODY, documented
from gbc.api.schemas import DepositInitiate, WithdrawalInitiate
from gbc.wallet import service
from gbc.wallet.views import DepositInstructions, TransactionsPage, WalletSummary, WithdrawalHold

router = APIGatewayRouter()


@router.get(
    "/api/wallet",
    summary="Balance, totals and pending withdrawals",
    tags=["wallet"],
    responses=documented(200, 404, *SIGNED_IN, _404="the user no longer exists"),
    security=BEARER,
)
def get_wallet(caller: CallerId, userId: Annotated[uuid.UUID | None, Query()] = None) -> WalletSummary:
    return service.wallet_summary(same_user(caller, userId))


@router.get(
    "/api/transactions",
    summary="The ledger, newest first in its strict order",
    tags=["wallet"],
    responses=documented(200, *SIGNED_IN),
    security=BEARER,
)
def get_transactions(
    caller: CallerId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    userId: Annotated[uuid.UUID | None, Query()] = None,
) -> TransactionsPage:
    return service.transactions_page(same_user(caller, userId), limit, cursor)


@router.post(
    "/api/deposit",
    summary="A deposit intent: where and how to deposit on chain",
    tags=["wallet"],
    responses=documented(201, *SIGNED_IN, *WITH_BODY, *IDEMPOTENT),
    security=BEARER,
    middlewares=[idempotent],
)
def post_deposit(caller: CallerId, body: DepositInitiate) -> Response[DepositInstructions]:
    intent = service.deposit_intent(same_user(caller, body.user_id), body.amount, body.currency)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=intent)


@router.post(
    "/api/withdraw",
    summary="Hold the amount and return a signed voucher for the vault",
    tags=["wallet"],
    responses=documented(
        201,
        402,
        404,
        *SIGNED_IN,
        *WITH_BODY,
        *IDEMPOTENT,
        _400=f"{DESCRIPTIONS[400]}; or walletAddress is not the signed-in wallet",
        _404="the user no longer exists",
    ),
    security=BEARER,
    middlewares=[idempotent],
)
def post_withdraw(caller: CallerId, body: WithdrawalInitiate) -> Response[WithdrawalHold]:
    hold = service.request_withdrawal(same_user(caller, body.user_id), body.amount, body.wallet_address)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=hold)
