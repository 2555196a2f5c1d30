from __future__ import annotations

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.identity import CallerId, same_user
from gbc.api.responses import BEARER, SIGNED_IN, documented
from gbc.api.schemas import ResultFilter
from gbc.history import service
from gbc.history.views import HistoryPage
from gbc.stats.views import UserStats

router = APIGatewayRouter()


@router.get(
    "/api/history",
    summary="Ended games, newest first, with the user's stats",
    tags=["history"],
    responses=documented(200, *SIGNED_IN),
    security=BEARER,
)
def get_history(
    caller: CallerId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    resultFilter: Annotated[ResultFilter, Query()] = "all",
    userId: Annotated[uuid.UUID | None, Query()] = None,
) -> HistoryPage:
    return service.history_page(same_user(caller, userId), limit, cursor, resultFilter)


@router.get(
    "/api/stats",
    summary="The user's precomputed stats",
    tags=["history"],
    responses=documented(200, *SIGNED_IN),
    security=BEARER,
)
def get_stats(caller: CallerId, userId: Annotated[uuid.UUID | None, Query()] = None) -> UserStats:
    return service.user_stats(same_user(caller, userId))
