from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.idempotency import idempotent
from gbc.api.identity import CallerId, same_user
from gbc.api.responses import IDEMPOTENT, SIGNED_IN, WITH_BODY, documented
from gbc.api.schemas import StorePurchase
from gbc.store import service

router = APIGatewayRouter()


@router.get("/api/store/items", summary="The catalog", tags=["store"], responses=documented(200))
def get_items() -> dict[str, Any]:
    return {"items": service.list_items()}


@router.post(
    "/api/store/purchase",
    summary="Buy an item with the in-game balance",
    tags=["store"],
    responses=documented(201, 402, 404, *SIGNED_IN, *WITH_BODY, *IDEMPOTENT, _404="no such item"),
    middlewares=[idempotent],
)
def post_purchase(caller: CallerId, body: StorePurchase) -> tuple[dict[str, Any], int]:
    return service.purchase(same_user(caller, body.user_id), body.item_id, body.quantity, body.currency), 201
