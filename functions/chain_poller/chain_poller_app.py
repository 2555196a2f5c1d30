"""Scheduled: read the contracts' logs from the checkpoint to the head minus N confirmations, store
them, enqueue their jobs (outbox), handle reorgs and refund expired vouchers (gbc.chain.poller).

It leaves itself ~15 s of its timeout: reading stops at the budget and the next run goes on.
"""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Off while the module's objects are built, then they are frozen (see api_app: ~0.1 s of a cold start).
gc.disable()

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.bootstrap import bootstrap
from gbc.chain.poller import ChainPoller
from gbc.chain.rpc import JsonRpcClient
from gbc.observability import logger, metrics
from gbc.settings import get_settings

# The direct-processing fallback for jobs and the cache's event subscribers (gbc.bootstrap).
bootstrap()

SAFETY_MARGIN_SECONDS = 15.0


@lru_cache(maxsize=1)
def _poller() -> ChainPoller | None:
    """One RPC client (and its connection pool) per container."""
    settings = get_settings()
    if not settings.chain_rpc_url:
        return None
    return ChainPoller(JsonRpcClient(settings.chain_rpc_url, timeout=settings.chain_rpc_timeout), settings)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    poller = _poller()
    if poller is None:
        logger.warning("[Chain] CHAIN_RPC_URL is not set: nothing to poll")
        return {"chainId": settings.chain_id, "skipped": "no CHAIN_RPC_URL"}
    remaining = context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    budget = max(1.0, min(settings.chain_poll_budget_seconds, remaining))
    return {"chainId": settings.chain_id, **poller.poll(budget_seconds=budget).as_dict()}


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
