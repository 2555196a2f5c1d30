"""Nightly (EventBridge cron): a `stats:recompute` job for every active user."""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Off while the module's objects are built, then they are frozen (see api_app: ~0.1 s of a cold start).
gc.disable()

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.bootstrap import bootstrap
from gbc.observability import logger, metrics
from gbc.stats.nightly import fan_out_recompute

# The direct-processing fallback for jobs and the cache's event subscribers (gbc.bootstrap).
bootstrap()


@metrics.log_metrics  # the direct-processing fallback's job metrics (business figures among them)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return fan_out_recompute()


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
