from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.responses import documented
from gbc.leaderboard.service import leaderboard
from gbc.leaderboard.views import Leaderboard, Period

router = APIGatewayRouter()


@router.get(
    "/api/leaderboard",
    summary="Top players by net profit (cached 10 min)",
    tags=["history"],
    responses=documented(200),
)
def get_leaderboard(period: Annotated[Period, Query()] = "weekly") -> Leaderboard:
    return leaderboard(period)
