"""The one way to run a database transaction, and to run work after it commits.

`with unit_of_work() as uow:` yields a Session inside BEGIN ... COMMIT. What the transaction changed
is recorded as domain events (`uow.record(event)`, gbc.events): after COMMIT their subscribers keep
derived copies in sync (the cache). Other work that must only happen once the data is durable
(sending outbox jobs) is registered with `uow.after_commit(fn)`, and writes that can wait until the
end (the outbox's rows, unless a statement carried them) with `uow.before_commit(fn)`. Both are
dropped on rollback. A
failure while COMMIT is in flight is CommitOutcomeUnknown: the caller cannot know whether the change
happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gbc.data.database import get_engine
from gbc.events import Event, publish
from gbc.observability import logger


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@dataclass
class UnitOfWork:
    session: Session
    # Scratch space for mechanisms that batch their after-commit work (e.g. the outbox's job ids).
    info: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _before_commit: list[Callable[[], None]] = field(default_factory=list)

    def record(self, event: Event) -> None:
        """What this transaction changed, for the subscribers to act on once it is committed (or,
        when the COMMIT's answer is lost, on the chance that it was)."""
        self.events.append(event)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)

    def before_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` in the transaction, just before it commits (a failure rolls it back)."""
        self._before_commit.append(fn)


class CommitOutcomeUnknown(Exception):
    """COMMIT was sent but its answer never came back (a dropped connection): the change may or may
    not be durable. Only a retry that can recognise itself (an Idempotency-Key) is safe."""

    retry_safe = False


# A request-wide transaction (gbc.api.idempotency): while set, unit_of_work() joins it instead of
# opening its own, so the effect, its idempotency record and its stored answer commit together.
_shared: ContextVar[UnitOfWork | None] = ContextVar("shared_unit_of_work", default=None)
_ROLLED_BACK = "shared_unit_of_work.rolled_back"


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[UnitOfWork]:
    shared = _shared.get()
    if shared is not None and engine is None:
        # A savepoint: a statement that fails in here (a unique key answering "taken") rolls back to
        # it, and the request's transaction stays usable for what the caller does next (finding the
        # open game to name in the 409). Work registered for after commit cannot be taken back, so
        # such a request must not commit: shared_unit_of_work refuses to.
        try:
            with shared.session.begin_nested():
                yield shared
        except BaseException:
            shared.info[_ROLLED_BACK] = True
            raise
        return
    factory = _session_factory() if engine is None else sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        uow = UnitOfWork(session)
        session.begin()
        try:
            yield uow
            for fn in uow._before_commit:
                fn()
            session.flush()  # a failing INSERT/UPDATE fails here, before COMMIT: the outcome is known
        except BaseException:
            session.rollback()
            raise
        try:
            session.commit()
        except Exception as exc:
            publish(uow.events, "outcome_unknown")
            raise CommitOutcomeUnknown("the connection failed during COMMIT") from exc
    # Derived copies first (the caller's next read sees its write), then the rest (sending jobs).
    publish(uow.events)
    _run_hooks(uow._after_commit)


@contextmanager
def shared_unit_of_work() -> Iterator[UnitOfWork]:
    """One transaction for everything until the block ends: every unit_of_work() inside joins it."""
    with unit_of_work() as uow:
        token = _shared.set(uow)
        try:
            yield uow
            if uow.info.get(_ROLLED_BACK):
                # A part failed and was rolled back, yet the request went on to succeed: its
                # after-commit work (jobs, cache updates) may describe the part that is gone.
                raise RuntimeError("a unit of work failed inside a request-wide transaction that then succeeded")
        finally:
            _shared.reset(token)  # before COMMIT: after-commit work opens transactions of its own


def _run_hooks(hooks: list[Callable[[], None]]) -> None:
    for fn in hooks:
        # The data is committed: a failing follow-up (a send, an invalidation) must not turn the
        # request into an error. The outbox sweep and cache TTLs are the safety nets.
        try:
            fn()
        except Exception:
            logger.exception("after-commit hook failed", extra={"hook": getattr(fn, "__name__", repr(fn))})
