"""Nightly (EventBridge cron): recompute every active user's stats.

For now it counts the users it would fan out to; the queue issue makes it send `stats:recompute`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy import func, select

from gbc.data.models import User
from gbc.data.transaction import unit_of_work
from gbc.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with unit_of_work() as uow:
        active = uow.session.scalar(select(func.count()).select_from(User).where(User.is_active.is_(True)))
    logger.info("[Stats] nightly recompute", extra={"activeUsers": active})
    return {"activeUsers": active, "enqueued": 0}
