"""The nightly fan-out: one `stats:recompute` job per active user, sent with SendMessageBatch.

Users are read in keyset pages; each page's jobs are sent by a few threads in parallel (boto3
clients are thread-safe), so 100k users is ~10k SendMessageBatch calls spread over 8 connections.
Each job recomputes its user in full and repairs drift: a user whose stored stats disagreed with the
games they claim to count is logged (`[Stats] Corrected drifted stats`) and counted in the
`StatsCorrected` metric, so the night's corrections are that metric's sum.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from gbc.data.models import User
from gbc.data.transaction import unit_of_work
from gbc.messages import StatsRecomputePayload
from gbc.observability import logger
from gbc.queue.jobs import new_job
from gbc.queue.publisher import deliver

PAGE = 1000
SEND_THREADS = 8
CHUNK = 100  # jobs per thread task: 10 SendMessageBatch calls


def fan_out_recompute(trigger: str = "nightly") -> dict[str, int]:
    users = enqueued = 0
    after: uuid.UUID | None = None
    with ThreadPoolExecutor(max_workers=SEND_THREADS) as pool:
        while True:
            with unit_of_work() as uow:
                query = select(User.id).where(User.is_active.is_(True)).order_by(User.id).limit(PAGE)
                if after is not None:
                    query = query.where(User.id > after)
                ids = uow.session.scalars(query).all()
            if not ids:
                break
            after = ids[-1]
            users += len(ids)
            jobs = [new_job(StatsRecomputePayload(userId=uid, trigger=trigger)) for uid in ids]
            chunks = [jobs[i : i + CHUNK] for i in range(0, len(jobs), CHUNK)]
            enqueued += sum(len(done) for done in pool.map(deliver, chunks))
    logger.info("[Stats] nightly fan-out", extra={"users": users, "enqueued": enqueued})
    return {"activeUsers": users, "enqueued": enqueued}
