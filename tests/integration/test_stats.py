"""Precomputed stats: incremental per ended game (each game once) and full recompute agree."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import uuid

from sqlalchemy import select

from gbc.data.models import Game, GameResult, SystemConfig
from gbc.data.transaction import unit_of_work
from gbc.jobs.runner import run_job
from gbc.messages import StatsRecomputePayload
from gbc.observability import metrics
from gbc.queue.jobs import new_job
from gbc.stats.service import (
    aggregate_user_stats,
    apply_new_games,
    full_recompute,
    public,
    recompute_user_stats,
    stats_key,
)
from tests.conftest import ROOT
from tests.support.factories import make_user
from tests.support.games import add_ended_games


def _stored(user_id):
    with unit_of_work() as uow:
        row = uow.session.get(SystemConfig, stats_key(user_id))
        return public(row.value) if row else None


def test_incremental_and_full_agree_and_count_each_game_once(db):
    user = make_user()
    rng = random.Random(5)
    results = list(GameResult)
    for _ in range(12):
        add_ended_games(user.id, [rng.choice(results) for _ in range(rng.randint(1, 4))])
        with unit_of_work() as uow:
            apply_new_games(uow, user.id)
        with unit_of_work() as uow:
            apply_new_games(uow, user.id)  # the same game's job again: nothing changes
    incremental = _stored(user.id)
    with unit_of_work() as uow:
        full = recompute_user_stats(uow, user.id)
        games = uow.session.scalars(select(Game).where(Game.user_id == user.id)).all()
    assert incremental == full
    assert full["totalHands"] == len(games)
    with unit_of_work() as uow:
        again = apply_new_games(uow, user.id)
    assert again == full


def test_recompute_command_for_one_user_and_all(db, services):
    users = [make_user() for _ in range(3)]
    for user in users:
        add_ended_games(user.id, [GameResult.WIN, GameResult.LOSE])
    env_cmd = [sys.executable, "-m", "gbc.stats.recompute"]
    one = subprocess.run([*env_cmd, "--user", str(users[0].id)], cwd=ROOT, capture_output=True, text=True, check=True)
    assert _stored(users[0].id)["totalHands"] == 2 and _stored(users[1].id) is None
    assert "1/1" in one.stderr
    everyone = subprocess.run([*env_cmd, "--all"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert all(_stored(u.id)["totalHands"] == 2 for u in users)
    assert "3/3" in everyone.stderr
    bad = subprocess.run([*env_cmd, "--user", str(uuid.uuid4())], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 0 and _stored(users[0].id)["totalHands"] == 2


def test_stats_jobs_racing_game_ends_count_every_ended_game_exactly_once(db):
    """Games end one after another (one active game per user) while stats jobs run in a loop on
    other connections: every job's totals and watermark must come from the same snapshot."""
    user = make_user()
    with unit_of_work() as uow:
        recompute_user_stats(uow, user.id)
    stop = threading.Event()
    failures: list[BaseException] = []

    def stats_jobs() -> None:
        while not stop.is_set():
            try:
                with unit_of_work() as uow:
                    apply_new_games(uow, user.id)
            except BaseException as exc:  # surfaced below: a thread's exception would be lost
                failures.append(exc)
                return

    workers = [threading.Thread(target=stats_jobs) for _ in range(3)]
    for worker in workers:
        worker.start()
    rng = random.Random(11)
    ended = 300
    try:
        for _ in range(ended):
            add_ended_games(user.id, [rng.choice(list(GameResult))])
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert failures == []
    with unit_of_work() as uow:
        apply_new_games(uow, user.id)  # the last game's own job, after the race
    with unit_of_work() as uow:
        full = aggregate_user_stats(uow, user.id)
    stored = _stored(user.id)
    assert stored["totalHands"] == ended
    assert stored == full


def _corrupt(user_id, **fields):
    """Overwrite stored fields, keeping the watermark (the incident: 68 hands counted, 69 ended)."""
    with unit_of_work() as uow:
        row = uow.session.get(SystemConfig, stats_key(user_id))
        row.value = {**row.value, **fields}


def _users_with_stats():
    """One drifted, one exact, one lagging (a game ended whose job has not run), one never computed."""
    drifted, exact, lagging, fresh = (make_user() for _ in range(4))
    for user in (drifted, exact, lagging, fresh):
        add_ended_games(user.id, [GameResult.WIN, GameResult.BLACKJACK, GameResult.LOSE])
    for user in (drifted, exact, lagging):
        with unit_of_work() as uow:
            recompute_user_stats(uow, user.id)
    _corrupt(drifted.id, totalHands=2, wins=1, totalWin="20")
    add_ended_games(lagging.id, [GameResult.PUSH])
    return drifted, exact, lagging, fresh


def test_a_full_recompute_repairs_drift_and_says_so_but_not_for_lag_or_a_first_computation(db):
    drifted, exact, lagging, fresh = _users_with_stats()
    corrected = {}
    for user in (drifted, exact, lagging, fresh):
        with unit_of_work() as uow:
            corrected[user.id] = full_recompute(uow, user.id).corrected
    assert corrected == {drifted.id: True, exact.id: False, lagging.id: False, fresh.id: False}
    for user in (drifted, exact, lagging, fresh):
        with unit_of_work() as uow:
            assert _stored(user.id) == aggregate_user_stats(uow, user.id)
    assert _stored(drifted.id)["totalHands"] == 3 and _stored(lagging.id)["totalHands"] == 4


def test_the_nightly_stats_job_repairs_a_corrupted_row_and_counts_it_in_a_metric(db):
    drifted, exact, lagging, fresh = _users_with_stats()
    metrics.clear_metrics()
    for user in (drifted, exact, lagging, fresh):
        assert run_job(new_job(StatsRecomputePayload(userId=user.id, trigger="nightly")))
    assert metrics.metric_set["StatsCorrected"]["Value"] == [1.0]
    metrics.clear_metrics()
    assert _stored(drifted.id) == {
        "totalHands": 3,
        "totalBet": "30",
        "totalWin": "45",  # 20 + 25 + 0
        "netProfit": "15",
        "winRate": 66.67,
        "wins": 2,
        "losses": 1,
        "pushes": 0,
        "blackjacks": 1,
    }


def test_the_recompute_command_prints_how_many_users_it_corrected(db, services):
    drifted, exact, lagging, fresh = _users_with_stats()
    _corrupt(exact.id, netProfit="999")
    run = subprocess.run(
        [sys.executable, "-m", "gbc.stats.recompute", "--all"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "2 of 4 users corrected" in run.stderr
    for user in (drifted, exact, lagging, fresh):
        with unit_of_work() as uow:
            assert _stored(user.id) == aggregate_user_stats(uow, user.id)
