"""Idempotency-Key: a state-changing request sent again (a lost answer, a retry after a 503) gets the
first answer instead of a second bet, move, purchase or hold.

With the header, the route runs in one request-wide transaction (gbc.data.transaction
.shared_unit_of_work): the key is claimed first, the route's own units of work join that transaction,
and its answer is stored before COMMIT. So the effect and the stored answer commit together or not at
all: a retry finds either nothing (and runs) or the answer (and replays it), even when the first
request's COMMIT failed in flight. A request that fails (4xx, 5xx) stores nothing: retrying it runs it
again. A concurrent duplicate waits on the key's row, then replays. Keys are per user, kept a day
(the outbox sweep prunes older ones). Without the header nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from gbc.api.identity import current_user_id
from gbc.data.outage import sqlstate
from gbc.data.transaction import CommitOutcomeUnknown, shared_unit_of_work
from gbc.errors import DomainError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP_HOURS = 24
_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

# A duplicate waits on the first request's claim; never longer than this (then: 409, retry shortly).
_CLAIM_WAIT = text("SET LOCAL lock_timeout = '5s'")
_CLAIM_WAIT_OFF = text("SET LOCAL lock_timeout = DEFAULT")
_CLAIM = text(
    "INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (:user_id, :key, :fingerprint) "
    "ON CONFLICT (user_id, key) DO NOTHING RETURNING key"
)
_STORED = text(
    "SELECT fingerprint, status_code, response FROM idempotency_keys WHERE user_id = :user_id AND key = :key"
)
_ANSWER = text(
    "UPDATE idempotency_keys SET status_code = :status, response = CAST(:response AS jsonb) "
    "WHERE user_id = :user_id AND key = :key"
)
_PRUNE = text("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => :hours)")


class InvalidIdempotencyKey(DomainError):
    def __init__(self) -> None:
        super().__init__("Validation failed")
        self.details = [f"{HEADER}: 1 to 64 characters of A-Z a-z 0-9 _ . : -"]


class IdempotencyKeyReused(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class IdempotencyKeyInProgress(DomainError):
    status = HTTPStatus.CONFLICT


def _fingerprint(app: BaseRouter) -> str:
    event = app.current_event
    digest = hashlib.sha256(f"{event.http_method} {event.path}\n".encode())
    digest.update((event.body or "").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _replay(status: int, body: Any) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={REPLAYED_HEADER: "true"},
    )


def idempotent(app: BaseRouter, next_middleware: Callable[[BaseRouter], Response[Any]]) -> Response[Any]:
    """Route middleware (after validation): honours an Idempotency-Key header."""
    key = app.current_event.headers.get(HEADER)
    if key is None:
        return next_middleware(app)
    if _KEY.fullmatch(key) is None:
        raise InvalidIdempotencyKey()
    user_id, fingerprint = current_user_id(app), _fingerprint(app)
    params = {"user_id": user_id, "key": key}
    try:
        with shared_unit_of_work() as uow:
            conn = uow.session.connection()
            if not _claim(conn, params, fingerprint):
                return _stored_answer(conn, params, fingerprint)
            response = next_middleware(app)
            body = json.loads(response.body) if isinstance(response.body, str | bytes) else response.body
            conn.execute(_ANSWER, {**params, "status": response.status_code, "response": json.dumps(body)})
    except CommitOutcomeUnknown as exc:
        exc.retry_safe = True  # the retry, with this key, finds the answer or runs once
        raise
    return response


def _claim(conn: Connection, params: dict[str, Any], fingerprint: str) -> bool:
    """Claim the key (True), or find it taken (False) once the request that took it has finished."""
    conn.execute(_CLAIM_WAIT)
    try:
        with conn.begin_nested():
            claimed = conn.execute(_CLAIM, {**params, "fingerprint": fingerprint}).first() is not None
    except DBAPIError as exc:
        if exc.orig is not None and sqlstate(exc.orig) == "55P03":  # lock_not_available: the first is still running
            raise IdempotencyKeyInProgress(f"a request with this {HEADER} is still in progress", field=HEADER) from exc
        raise
    conn.execute(_CLAIM_WAIT_OFF)
    return claimed


def _stored_answer(conn: Connection, params: dict[str, Any], fingerprint: str) -> Response[Any]:
    # The INSERT waited for a concurrent first request to commit, so its answer is there.
    row = conn.execute(_STORED, params).one()
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused(f"this {HEADER} was used for a different request", field=HEADER)
    return _replay(row.status_code, row.response)


def prune_idempotency_keys(conn: Connection) -> int:
    return int(conn.execute(_PRUNE, {"hours": KEEP_HOURS}).rowcount or 0)
