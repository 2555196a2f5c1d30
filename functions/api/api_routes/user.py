from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.idempotency import idempotent
from gbc.api.identity import CallerId, Sender, same_user
from gbc.api.responses import BEARER, IDEMPOTENT, SIGNED_IN, WITH_BODY, documented
from gbc.api.schemas import UserUpdate
from gbc.users.service import update_user
from gbc.users.views import UserProfile

router = APIGatewayRouter()


@router.patch(
    "/api/user",
    summary="Update username, email or settings",
    tags=["user"],
    responses=documented(
        200,
        404,
        *SIGNED_IN,
        *WITH_BODY,
        *IDEMPOTENT,
        _200="the updated user",
        _404="the user no longer exists",
        _409="username or email taken, or a request with this Idempotency-Key is still in progress",
    ),
    security=BEARER,
    middlewares=[idempotent],
)
def patch_user(caller: CallerId, sender: Sender, update: UserUpdate) -> UserProfile:
    user_id = same_user(caller, update.user_id)
    changes = update.model_dump(include={"username", "email"}, exclude_unset=True)
    if update.settings is not None:
        changes["settings"] = update.settings.model_dump(by_alias=True, exclude_none=True)
    return update_user(user_id, changes, sender)
