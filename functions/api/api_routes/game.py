from __future__ import annotations

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.idempotency import idempotent
from gbc.api.identity import CallerId, same_user
from gbc.api.responses import BEARER, IDEMPOTENT, SIGNED_IN, WITH_BODY, documented
from gbc.api.schemas import GameAction, GameCreate
from gbc.game import service
from gbc.game.views import GameView, PlayView, VerifyView

router = APIGatewayRouter()

NO_GAME = "no such game for this user"
IN_PROGRESS = "or a request with this Idempotency-Key is still in progress"


@router.post(
    "/api/game",
    summary="Place a bet and deal",
    tags=["game"],
    responses=documented(
        201,
        402,
        404,
        *SIGNED_IN,
        *WITH_BODY,
        *IDEMPOTENT,
        _201="dealt",
        _404="the user no longer exists",
        _409=f"one game at a time (details.gameId names the open game), {IN_PROGRESS}",
    ),
    security=BEARER,
    middlewares=[idempotent],
)
def create_game(caller: CallerId, body: GameCreate) -> Response[PlayView]:
    dealt = service.create_game(same_user(caller, body.user_id), body.bet_amount, body.client_seed)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=dealt)


@router.post(
    "/api/game/action",
    summary="Play an action; the round settles when it ends",
    tags=["game"],
    responses=documented(
        200,
        402,
        404,
        *SIGNED_IN,
        *WITH_BODY,
        *IDEMPOTENT,
        _404=NO_GAME,
        _409=f"game over, action not allowed now (details.legalActions), another action in progress, {IN_PROGRESS}",
    ),
    security=BEARER,
    middlewares=[idempotent],
)
def game_action(caller: CallerId, body: GameAction) -> PlayView:
    user_id = same_user(caller, body.user_id)
    # Only insurance takes an amount; a payload sent along with another action is ignored.
    amount = body.payload.amount if body.payload and body.action == "insurance" else None
    return service.act(user_id, body.game_id, body.action, amount)


# Registered before /api/game/<gameId>, so "active" is never read as a game id.
@router.get(
    "/api/game/active",
    summary="The caller's unfinished game (to resume one whose response was lost)",
    tags=["game"],
    responses=documented(200, 404, *SIGNED_IN, _404="no active game"),
    security=BEARER,
)
def get_active_game(caller: CallerId) -> GameView:
    return service.active_game(caller)


@router.get(
    "/api/game/<gameId>",
    summary="A game, with the fairness reveal once ended",
    tags=["game"],
    responses=documented(200, 404, *SIGNED_IN, _404=NO_GAME),
    security=BEARER,
)
def get_game(caller: CallerId, gameId: Annotated[uuid.UUID, Path()]) -> GameView:
    return service.get_game(caller, gameId)


@router.get(
    "/api/game/<gameId>/verify",
    summary="Re-derive an ended game's shoe from its revealed seeds",
    tags=["game"],
    responses=documented(200, 404, 409, *SIGNED_IN, _404=NO_GAME, _409="the game has not ended"),
    security=BEARER,
)
def verify_game(caller: CallerId, gameId: Annotated[uuid.UUID, Path()]) -> VerifyView:
    return service.verify_game(caller, gameId)
