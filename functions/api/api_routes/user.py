from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.idempotency import idempotent
from gbc.api.identity import ensure_same_user
from gbc.api.responses import IDEMPOTENT, SIGNED_IN, WITH_BODY, documented
from gbc.api.schemas import UserUpdate
from gbc.users.service import RequestMeta, update_user

router = APIGatewayRouter()


@router.patch(
    "/api/user",
    summary="Update username, email or settings",
    tags=["user"],
    responses=documented(
        200, 409, *SIGNED_IN, *WITH_BODY, *IDEMPOTENT, _200="the updated user", _409="username or email taken"
    ),
    middlewares=[idempotent],
)
def patch_user(update: UserUpdate) -> dict[str, Any]:
    user_id = ensure_same_user(router, update.user_id)
    changes = update.model_dump(include={"username", "email"}, exclude_unset=True)
    if update.settings is not None:
        changes["settings"] = update.settings.model_dump(by_alias=True, exclude_none=True)
    identity = router.current_event.request_context.identity
    return update_user(user_id, changes, RequestMeta(ip_address=identity.source_ip, user_agent=identity.user_agent))
