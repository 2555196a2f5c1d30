"""What API Gateway hands the API function for a signed-in user: the context of the real authorizer's
policy for a fresh session token (as it caches it per token), so in-process requests take the same
path as requests over HTTP (a verified session: no per-request session check)."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any


@cache
def signed_in_context(user_id: uuid.UUID | str) -> dict[str, Any]:
    import authorizer_app

    from devstack.apigw import authorizer_context, token_authorizer_event
    from devstack.runtime import LocalContext
    from gbc.auth.tokens import issue_token

    token = issue_token(uuid.UUID(str(user_id)), "")
    event = token_authorizer_event(f"Bearer {token}", "GET", "/api/wallet")
    context: Any = LocalContext("AuthorizerFunction", 512, 5)  # what the handler reads of LambdaContext
    policy = authorizer_app.lambda_handler(event, context)
    return authorizer_context(policy)
