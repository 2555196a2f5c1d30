"""Nightly (EventBridge cron): a `stats:recompute` job for every active user."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.jobs import install_direct_processing
from gbc.observability import logger
from gbc.stats.nightly import fan_out_recompute

# When SQS cannot be reached, the jobs this function enqueues are processed here (gbc.jobs).
install_direct_processing()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return fan_out_recompute()
