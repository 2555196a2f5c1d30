from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.idempotency import idempotent
from gbc.api.identity import CallerId, same_user
from gbc.api.responses import BEARER, IDEMPOTENT, SIGNED_IN, WITH_BODY, documented
from gbc.api.schemas import StorePurchase
from gbc.store import service
from gbc.store.views import Catalog, PurchaseReceipt

router = APIGatewayRouter()


@router.get("/api/store/items", summary="The catalog", tags=["store"], responses=documented(200))
def get_items() -> Catalog:
    return service.catalog()


@router.post(
    "/api/store/purchase",
    summary="Buy an item with the in-game balance",
    tags=["store"],
    responses=documented(
        201, 402, 404, *SIGNED_IN, *WITH_BODY, *IDEMPOTENT, _404="no such item, or the user no longer exists"
    ),
    security=BEARER,
    middlewares=[idempotent],
)
def post_purchase(caller: CallerId, body: StorePurchase) -> Response[PurchaseReceipt]:
    receipt = service.purchase(same_user(caller, body.user_id), body.item_id, body.quantity, body.currency)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=receipt)
