"""Manual full recompute of precomputed stats, directly against the database.

python -m gbc.stats.recompute --user <uuid>
python -m gbc.stats.recompute --all            # every active user, with a progress bar

Prints (and logs) how many users' stored stats had drifted from their games and were corrected.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

from sqlalchemy import select

from gbc.data.models import User
from gbc.data.transaction import unit_of_work
from gbc.observability import logger
from gbc.stats.service import full_recompute


def _progress(done: int, total: int, started: float) -> None:
    # A one-line bar on stderr (no dependency for twenty lines of output).
    width = 30
    filled = int(width * done / total) if total else width
    rate = done / max(time.monotonic() - started, 1e-9)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} users, {rate:.0f}/s")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gbc.stats.recompute", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--user", type=uuid.UUID)
    group.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    with unit_of_work() as uow:
        query = select(User.id).where(User.is_active.is_(True)).order_by(User.id)
        ids = [args.user] if args.user else list(uow.session.scalars(query))
    started = time.monotonic()
    corrected = 0
    for done, user_id in enumerate(ids, 1):
        with unit_of_work() as uow:
            # No EMF metric from a terminal: the count is printed (and logged) below instead.
            corrected += full_recompute(uow, user_id, emit_metric=False).corrected
        _progress(done, len(ids), started)
    sys.stderr.write(f"\n{corrected} of {len(ids)} users corrected (stored stats had drifted)\n")
    logger.info("[Stats] full recompute", extra={"users": len(ids), "corrected": corrected})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
