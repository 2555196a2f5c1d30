"""The API function: one REST resolver with a router per resource."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from api_routes import game, health, history, leaderboard, session, store, user, wallet
from gbc.after_response import after_the_response
from gbc.api.resolver import api_resolver
from gbc.bootstrap import bootstrap
from gbc.observability import logger, metrics

# The direct-processing fallback for jobs and the cache's event subscribers (gbc.bootstrap).
bootstrap()

app = api_resolver()
for module in (health, game, history, leaderboard, wallet, store, user, session):
    app.include_router(module.router)
app.swagger_on_first_use(path="/api/docs", title="GBC Blackjack API", version="0.1.0")


# Outermost: the outbox's delivery runs after the response (gbc.after_response).
@after_the_response
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
