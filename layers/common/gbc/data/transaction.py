"""The one way to run a database transaction, and to run work after it commits.

`with unit_of_work() as uow:` yields a Session inside BEGIN ... COMMIT. Work that must only happen
once the data is durable (sending outbox jobs, invalidating caches) is registered with
`uow.after_commit(fn)` and runs after COMMIT; it is dropped on rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gbc.data.engine import get_engine
from gbc.observability import logger


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@dataclass
class UnitOfWork:
    session: Session
    # Scratch space for mechanisms that batch their after-commit work (e.g. the outbox's job ids).
    info: dict[str, Any] = field(default_factory=dict)
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[UnitOfWork]:
    factory = _session_factory() if engine is None else sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        uow = UnitOfWork(session)
        with session.begin():
            yield uow
    for fn in uow._after_commit:
        # The data is committed: a failing follow-up (a send, an invalidation) must not turn the
        # request into an error. The outbox sweep and cache TTLs are the safety nets.
        try:
            fn()
        except Exception:
            logger.exception("after-commit hook failed", extra={"hook": getattr(fn, "__name__", repr(fn))})
