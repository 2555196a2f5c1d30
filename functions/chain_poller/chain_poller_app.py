"""Scheduled: read chain logs from the checkpoint and turn them into jobs.

For now it reads (and reports) its checkpoint; the chain issue adds the JSON-RPC reader.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.chain.checkpoint import read_checkpoint
from gbc.data.transaction import unit_of_work
from gbc.observability import logger
from gbc.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    with unit_of_work() as uow:
        checkpoint = read_checkpoint(uow, settings.chain_id)
    logger.debug("[Chain] poll", extra={"chainId": settings.chain_id, "checkpoint": checkpoint})
    return {"chainId": settings.chain_id, "checkpoint": checkpoint, "rpcConfigured": bool(settings.chain_rpc_url)}
