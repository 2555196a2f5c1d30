"""The API function: one REST resolver with a router per resource."""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Importing the function builds ~185,000 objects that live as long as the process, and almost no
# garbage (under a thousand objects): the collector's passes over them while they are being created
# (two full ones among them) were ~100 ms of a cold start. It is off until they are all built, then
# they are frozen (moved where no collection looks again) and it is back on for what requests create.
gc.disable()

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from api_routes import docs, game, health, history, leaderboard, realtime, session, store, user, wallet
from gbc.after_response import after_the_response
from gbc.api.resolver import api_resolver
from gbc.bootstrap import bootstrap
from gbc.observability import logger, metrics

# The direct-processing fallback for jobs and the cache's event subscribers (gbc.bootstrap).
bootstrap()

app = api_resolver()
for module in (health, game, history, leaderboard, wallet, store, user, session, realtime):
    app.include_router(module.router)
# GET /api/docs: the committed OpenAPI document (written by `python -m gbc.api.openapi`).
app.include_router(docs.router)


# Outermost: the outbox's delivery runs after the response (gbc.after_response).
@after_the_response
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
