"""Nightly (EventBridge cron): a `stats:recompute` job for every active user."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.bootstrap import bootstrap
from gbc.observability import logger
from gbc.stats.nightly import fan_out_recompute

# The direct-processing fallback for jobs and the cache's event subscribers (gbc.bootstrap).
bootstrap()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return fan_out_recompute()
