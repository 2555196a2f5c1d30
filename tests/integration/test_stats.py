"""Precomputed stats: incremental per ended game (each game once) and full recompute agree."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid

from sqlalchemy import select

from gbc.data.models import Game, GameResult, SystemConfig
from gbc.data.transaction import unit_of_work
from gbc.stats.service import apply_new_games, public, recompute_user_stats, stats_key
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
