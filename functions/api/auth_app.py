"""The sign-in function (public routes): Sign-In with Ethereum -> session JWT. Separate from the API
function so that the API's cold start carries none of sign-in (the signer is recovered with
coincurve, gbc/auth/signatures.py)."""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Off while the module's objects are built, then they are frozen (see api_app: ~0.1 s of a cold start).
gc.disable()

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.after_response import after_the_response
from gbc.api.identity import Sender
from gbc.api.resolver import api_resolver
from gbc.api.responses import WITH_BODY, documented
from gbc.api.schemas import NonceRequest, VerifyRequest
from gbc.auth import service
from gbc.auth.views import NonceGrant, SignedIn
from gbc.bootstrap import bootstrap
from gbc.observability import logger, metrics

# The direct-processing fallback for jobs and the cache's event subscribers (gbc.bootstrap).
bootstrap()

app = api_resolver()


@app.post(
    "/api/auth/nonce",
    summary="A single-use nonce and the EIP-4361 message to sign",
    tags=["auth"],
    responses=documented(201, *WITH_BODY),
)
def post_nonce(body: NonceRequest) -> Response[NonceGrant]:
    grant = service.issue_nonce(body.address)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=grant)


@app.post(
    "/api/auth/verify",
    summary="Verify the signed message; returns a session token",
    tags=["auth"],
    responses=documented(200, 401, *WITH_BODY, _401="message, nonce or signature refused"),
)
def post_verify(sender: Sender, body: VerifyRequest) -> SignedIn:
    return service.sign_in(body.message, body.signature, sender)


# Outermost: the outbox's delivery runs after the response (gbc.after_response).
@after_the_response
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
