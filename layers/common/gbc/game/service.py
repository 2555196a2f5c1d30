"""Playing a game: every step is one transaction that locks the game, applies the engine, moves
money through the ledger and, when the round ends, settles and enqueues its jobs (outbox).

Money: the bet is debited at creation; doubles, splits and insurance debit the difference in the
round's total wager; the settlement credits everything the round returns (GAME_WIN when the player
comes out ahead, GAME_REFUND for a push or surrender). Each ledger row's reference is unique, so a
step can never be charged twice.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from gbc import blackjack
from gbc.blackjack import fairness
from gbc.cache import Keys, cache_query
from gbc.data.models import Game, GameMove, GameState, TransactionType, User
from gbc.data.transaction import UnitOfWork, unit_of_work
from gbc.errors import Conflict, DomainError, NotFound
from gbc.events import GameEnded
from gbc.game.shoes import shoe_for
from gbc.game.views import FairnessChecks, FairnessView, GameView, PlayView, VerifyView
from gbc.history.service import filters_of, game_summary
from gbc.ledger import apply_balance_change
from gbc.messages import AuditLogPayload, StatsRecomputePayload
from gbc.money import money_str
from gbc.queue.outbox import carrying_jobs, enqueue_job
from gbc.settings import get_settings

_STATE = {
    blackjack.Phase.INSURANCE: GameState.PLAYER_TURN,
    blackjack.Phase.PLAYER_TURN: GameState.PLAYER_TURN,
    blackjack.Phase.ENDED: GameState.ENDED,
}


class BetOutOfRange(DomainError):
    pass


def _charge(uow: UnitOfWork, game: Game, amount: Decimal, step: str) -> Decimal:
    entry, _ = apply_balance_change(uow, game.user_id, TransactionType.GAME_BET, -amount, f"{game.id}:{step}")
    return entry.balance_after


def _record_outcome(game: Game, round_: blackjack.Round) -> blackjack.Outcome:
    """The ended round's result on the game row (no I/O: the step's statement writes it)."""
    outcome = round_.outcome
    assert outcome is not None
    game.result = outcome.result
    game.win_amount = outcome.win_amount
    game.net_profit = outcome.net_profit
    game.insurance_bet = round_.insurance
    game.ended_at = datetime.now(UTC)
    return outcome


def _settle(
    uow: UnitOfWork, game: Game, outcome: blackjack.Outcome, step: Callable[[], Step] | None = None
) -> Decimal | None:
    """The round ended: enqueue stats and audit, pay out. Returns the new balance. `step` builds the
    game's step statement once the jobs are enqueued (it carries them); it rides along the payout's
    statement (one round trip for both), or is sent alone when nothing is paid."""
    enqueue_job(StatsRecomputePayload(userId=game.user_id, trigger="game:ended", gameId=game.id), uow)
    enqueue_job(
        AuditLogPayload(
            userId=game.user_id,
            action="game.end",
            resource="game",
            resourceId=str(game.id),
            newValues={
                "result": outcome.result,
                "totalWagered": money_str(outcome.total_wagered),
                "winAmount": money_str(outcome.win_amount),
                "netProfit": money_str(outcome.net_profit),
            },
        ),
        uow,
    )
    if outcome.win_amount <= 0:
        if step is not None:
            uow.session.execute(*step())
        return None
    kind = TransactionType.GAME_WIN if outcome.net_profit > 0 else TransactionType.GAME_REFUND
    entry, _ = apply_balance_change(
        uow,
        game.user_id,
        kind,
        outcome.win_amount,
        f"{game.id}:settle",
        {"result": outcome.result},
        carrying=step() if step is not None else None,
    )
    return entry.balance_after


def _stored_view(game: Game) -> GameView:
    return GameView.of(game, blackjack.Round.from_dict(game.hands))


def _answer(uow: UnitOfWork, game: Game, round_: blackjack.Round, balance: Decimal) -> PlayView:
    """The step's response: the game's view and the balance. A round that has ended shows the view
    GET /api/game/{id} serves from now on: the GameEnded event carries it (with its history row)."""
    view = GameView.of(game, round_)
    if game.result is not None:
        uow.record(
            GameEnded(
                user_id=game.user_id,
                game_id=game.id,
                view=view.to_json(),
                summary=game_summary(game),
                filters=filters_of(game.result),
            )
        )
    return PlayView(**dict(view), balance=balance)


def _store_round(game: Game, round_: blackjack.Round) -> None:
    game.hands = round_.to_dict()
    game.dealer_hand = {"cards": list(round_.dealer)}
    game.state = _STATE[round_.phase]


def create_game(user_id: uuid.UUID, bet: Decimal, client_seed: str | None) -> PlayView:
    settings = get_settings()
    if not settings.bet_min <= bet <= settings.bet_max:
        raise BetOutOfRange(
            f"betAmount must be between {money_str(settings.bet_min)} and {money_str(settings.bet_max)}",
            field="betAmount",
        )
    server_seed = fairness.new_server_seed()
    seeds = {
        "serverSeed": server_seed,
        "serverSeedHash": fairness.commitment(server_seed),
        "clientSeed": client_seed or secrets.token_hex(8),
        "nonce": 0,  # a fresh server seed per game: the pair (serverSeed, clientSeed) is never reused
    }
    round_ = blackjack.deal(bet, shoe_for(seeds))
    game = Game(
        id=uuid.uuid4(),
        user_id=user_id,
        bet_amount=bet,
        fairness=seeds,
        created_at=datetime.now(UTC),
        version=1,
        **_NOT_ENDED,
    )
    _store_round(game, round_)
    outcome = _record_outcome(game, round_) if round_.phase is blackjack.Phase.ENDED else None
    try:
        with unit_of_work() as uow:
            _insert_game(uow, game, {"cursor": round_.cursor})  # the one-active-game index answers here
            balance = _charge(uow, game, bet, "bet")
            if outcome is not None:  # a dealt blackjack: the round is over at once
                balance = _settle(uow, game, outcome) or balance
            view = _answer(uow, game, round_, balance)
    except IntegrityError as exc:
        if "uq_games_active_user" in str(exc.orig):
            # Name the open game, so a client whose earlier response was lost can resume it.
            details = {"field": "gameId"}
            open_id = _active_game_id(user_id)
            if open_id is not None:  # None: it ended meanwhile, and a retry will deal
                details["gameId"] = str(open_id)
            raise Conflict("finish your current game first", **details) from exc
        raise
    return view


def _active(user_id: uuid.UUID) -> Any:
    return select(Game).where(Game.user_id == user_id, Game.ended_at.is_(None))  # uq_games_active_user


def _active_game_id(user_id: uuid.UUID) -> uuid.UUID | None:
    with unit_of_work() as uow:
        found: uuid.UUID | None = uow.session.scalar(_active(user_id).with_only_columns(Game.id))
        return found


def active_game(user_id: uuid.UUID) -> GameView:
    """The caller's unfinished game, in the view of GET /api/game/{id}; never cached: every action
    changes it, and it is one indexed row."""
    with unit_of_work() as uow:
        game = uow.session.scalar(_active(user_id))
        if game is None:
            raise NotFound("no active game")
        return _stored_view(game)


_GAMES = cast(Table, Game.__table__)
_USERS = cast(Table, User.__table__)
# The caller's game, locked, and their balance (one round trip); statements built once, on the
# tables (Core: no ORM compile step or result wrapping).
_LOCKED_GAME = (
    select(_GAMES, _USERS.c.balance.label("balance"))
    .join(_USERS, _USERS.c.id == _GAMES.c.user_id)
    .where(_GAMES.c.id == bindparam("game_id"), _GAMES.c.user_id == bindparam("user_id"))
    .with_for_update(of=_GAMES, nowait=True)
)
# A step's game row and its move, in one statement (the move's INSERT rides along as a CTE).
_SAVE_STEP = (
    update(_GAMES)
    .where(_GAMES.c.id == bindparam("game_id"))
    .values(
        hands=bindparam("hands"),
        dealer_hand=bindparam("dealer_hand"),
        state=bindparam("state"),
        result=bindparam("result"),
        win_amount=bindparam("win_amount"),
        net_profit=bindparam("net_profit"),
        insurance_bet=bindparam("insurance_bet"),
        ended_at=bindparam("ended_at"),
        version=_GAMES.c.version + 1,
    )
    .add_cte(
        insert(cast(Table, GameMove.__table__))
        .values(game_id=bindparam("game_id"), move=bindparam("move"), payload=bindparam("payload"))
        .cte("moved")
    )
)


_MOVES = cast(Table, GameMove.__table__)
_GAME_COLUMNS = [c.name for c in _GAMES.columns]
# A new game and its deal, in one statement (the move's INSERT rides along as a CTE; its foreign key
# is checked at the statement's end, when the game row exists). Core, not the ORM's unit of work:
# the flush and its bookkeeping were a third of the deal's CPU.
_NEW_GAME = (
    insert(_GAMES)
    .values({name: bindparam(f"new_{name}", type_=_GAMES.c[name].type) for name in _GAME_COLUMNS})
    .add_cte(
        insert(_MOVES)
        .values(
            game_id=bindparam("new_id"),
            move=bindparam("new_move", "deal"),
            payload=bindparam("new_payload", type_=_MOVES.c.payload.type),
        )
        .cte("dealt")
    )
)
_NOT_ENDED = {"result": None, "win_amount": Decimal(0), "net_profit": Decimal(0), "insurance_bet": Decimal(0)}


def _insert_game(uow: UnitOfWork, game: Game, payload: dict[str, Any]) -> None:
    values = {f"new_{name}": getattr(game, name) for name in _GAME_COLUMNS}
    uow.session.execute(_NEW_GAME, {**values, "new_move": "deal", "new_payload": payload})


def _locked_game(uow: UnitOfWork, user_id: uuid.UUID, game_id: uuid.UUID) -> tuple[Game, Decimal]:
    """The caller's game, locked (NOWAIT: a concurrent action on it answers 409 at once), and their
    balance, in one round trip. The game is a detached Game: the step writes what it changed with
    one UPDATE (_step) instead of the ORM's change tracking and flush (a third of an action's
    CPU)."""
    try:
        row = uow.session.execute(_LOCKED_GAME, {"game_id": game_id, "user_id": user_id}).first()
    except DBAPIError as exc:
        if "55P03" in str(exc.orig) or "could not obtain lock" in str(exc.orig):
            raise Conflict("another action on this game is in progress") from exc
        raise
    if row is None:
        raise NotFound("game not found")
    columns = dict(row._mapping)
    balance = columns.pop("balance")
    return Game(**columns), balance


Step = tuple[Any, dict[str, Any]]  # a statement and its parameters


def _step(uow: UnitOfWork, game: Game, move: str, payload: dict[str, Any] | None) -> Step:
    """The game row and its move, and the jobs of a round that ended (stats, audit): one statement."""
    statement, job_params = carrying_jobs(_SAVE_STEP, uow)
    return statement, {
        **job_params,
        "game_id": game.id,
        "hands": game.hands,
        "dealer_hand": game.dealer_hand,
        "state": game.state,
        "result": game.result,
        "win_amount": game.win_amount,
        "net_profit": game.net_profit,
        "insurance_bet": game.insurance_bet,
        "ended_at": game.ended_at,
        "move": move,
        "payload": payload,
    }


def act(user_id: uuid.UUID, game_id: uuid.UUID, action: str, amount: Decimal | None) -> PlayView:
    with unit_of_work() as uow:
        game, balance = _locked_game(uow, user_id, game_id)
        if game.state is GameState.ENDED:
            raise Conflict("game is over", field="gameId")
        if action == blackjack.Action.SET_ACE_VALUE:
            raise DomainError(
                "set_ace_value is not supported: an ace counts 11 or 1 by itself (soft totals)", field="action"
            )
        round_ = blackjack.Round.from_dict(game.hands)
        try:
            after = blackjack.apply(round_, action, shoe_for(game.fairness), amount)
        except blackjack.IllegalAction as exc:
            raise Conflict(str(exc), field="action", legalActions=[a.value for a in round_.legal_actions()]) from exc
        extra = after.total_wagered() - round_.total_wagered()
        if extra > 0:
            balance = _charge(uow, game, extra, f"{action}:{after.cursor}")
        _store_round(game, after)
        payload = {"amount": money_str(amount)} if amount else None
        if after.phase is blackjack.Phase.ENDED:
            step = functools.partial(_step, uow, game, action, payload)
            balance = _settle(uow, game, _record_outcome(game, after), step) or balance
        else:
            uow.session.execute(*_step(uow, game, action, payload))
        return _answer(uow, game, after, balance)


def _load_game(game_id: uuid.UUID) -> dict[str, Any] | None:
    with unit_of_work() as uow:
        game = uow.session.get(Game, game_id)
        if game is None:
            return None
        return {"userId": str(game.user_id), "view": _stored_view(game).to_json()}


def get_game(user_id: uuid.UUID, game_id: uuid.UUID) -> GameView:
    """A game; an ended one (immutable) is cached for an hour."""
    found = cache_query(
        *Keys.game(game_id),
        lambda: _load_game(game_id),
        store_if=lambda g: g is not None and g["view"]["endedAt"] is not None,
    )
    if found is None or found["userId"] != str(user_id):
        raise NotFound("game not found")
    return GameView.model_validate(found["view"])


def _replay(bet: Decimal, moves: list[GameMove], shoe: blackjack.Shoe) -> blackjack.Round | None:
    """The round the recorded bet and moves produce on a shoe; None if a move would be refused."""
    try:
        round_ = blackjack.deal(bet, shoe)
        for move in moves:
            amount = Decimal(move.payload["amount"]) if move.payload and "amount" in move.payload else None
            round_ = blackjack.apply(round_, move.move, shoe, amount)
    except blackjack.IllegalAction:
        return None
    return round_


def verify_game(user_id: uuid.UUID, game_id: uuid.UUID) -> VerifyView:
    """Re-derive an ended game's shoe from its revealed seeds and replay the recorded moves on it:
    the result must be the stored round, card for card and in order."""
    with unit_of_work() as uow:
        game = uow.session.get(Game, game_id)
        if game is None or game.user_id != user_id:
            raise NotFound("game not found")
        if game.ended_at is None:
            raise Conflict("the server seed is revealed when the game ends", field="gameId")
        moves = list(
            uow.session.scalars(
                select(GameMove).where(GameMove.game_id == game_id, GameMove.move != "deal").order_by(GameMove.id)
            )
        )
    seeds = game.fairness
    stored = blackjack.Round.from_dict(game.hands)
    shoe = fairness.FairShoe(seeds["serverSeed"], seeds["clientSeed"], int(seeds["nonce"]))
    replayed = _replay(stored.bet, moves, shoe)
    checks = FairnessChecks(
        commitment=fairness.commitment(seeds["serverSeed"]) == seeds["serverSeedHash"],
        replay=replayed is not None and replayed.to_dict() == stored.to_dict(),
    )
    revealed = FairnessView.of(game)
    return VerifyView(
        game_id=game.id,
        valid=checks.commitment and checks.replay,
        checks=checks,
        server_seed_hash=revealed.server_seed_hash,
        client_seed=revealed.client_seed,
        nonce=revealed.nonce,
        server_seed=seeds["serverSeed"],
        moves=[m.move for m in moves],
        shoe_prefix=[blackjack.card_label(shoe.card(i)) for i in range(stored.cursor)],
        algorithm="forward Fisher-Yates over 6 decks driven by HMAC-SHA256(serverSeed, clientSeed:nonce:counter)",
    )
