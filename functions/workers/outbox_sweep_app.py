"""Scheduled (every minute): re-send outbox jobs that a crash or an SQS outage left behind; forget
sign-outs of tokens that have expired since (they are refused for their expiry anyway) and
Idempotency-Keys older than a day."""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Off while the module's objects are built, then they are frozen (see api_app: ~0.1 s of a cold start).
gc.disable()

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.api.idempotency import prune_idempotency_keys
from gbc.auth.sessions import prune_revoked
from gbc.bootstrap import bootstrap
from gbc.data.database import get_engine
from gbc.observability import logger, metrics
from gbc.queue.outbox import report_backlog, sweep_outbox

# The direct-processing fallback for jobs and the cache's event subscribers (gbc.bootstrap).
bootstrap()


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sent = sweep_outbox()
    backlog, oldest = report_backlog()
    with get_engine().begin() as conn:
        pruned = prune_revoked(conn)
        keys = prune_idempotency_keys(conn)
    return {
        "sent": sent,
        "outboxBacklog": backlog,
        "outboxOldestAgeS": round(oldest, 3),
        "revocationsPruned": pruned,
        "idempotencyKeysPruned": keys,
    }


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
