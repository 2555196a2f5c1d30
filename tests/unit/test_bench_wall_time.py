"""The cpu suite's split of an action's wall time: the statement labels it groups the database's
waits by, and means that add up to the wall."""

from __future__ import annotations

import pytest

from bench.cpu import _kind, _means


@pytest.mark.parametrize(
    ("statement", "label"),
    [
        ("begin transaction", "BEGIN (sent with the first statement)"),
        ("commit", "commit"),
        (
            "SELECT games.id, users.balance FROM games JOIN users ON users.id = games.user_id "
            "WHERE games.id = %s FOR UPDATE OF games NOWAIT",
            "reads games",
        ),
        (
            "WITH moved AS (INSERT INTO game_moves (game_id) VALUES (%s)) UPDATE games SET state=%s",
            "writes game_moves, games",
        ),
        (
            "WITH changed AS (UPDATE users SET balance=(users.balance + %s) RETURNING users.balance), "
            "carried AS (WITH moved AS (INSERT INTO game_moves (game_id) VALUES (%s)) UPDATE games SET x=%s) "
            "INSERT INTO transactions (id) SELECT %s FROM changed",
            "writes users, game_moves, games, transactions",
        ),
        (None, ""),
    ],
)
def test_a_statement_is_labelled_by_the_tables_it_writes_or_reads(statement, label):
    assert _kind(statement) == label


def test_the_means_of_the_parts_add_up_to_the_mean_wall():
    samples = [
        {"wall": 6.0, "cpu": 3.0, "postgres: commit": 1.0, "rest": 2.0},
        {"wall": 9.0, "cpu": 4.0, "postgres: commit": 1.5, "redis": 0.5, "rest": 3.0},
    ]
    means = _means(samples)
    assert means["redis"] == 0.25, "an exchange a call did not make counts as 0"
    assert means["wall"] == pytest.approx(sum(v for k, v in means.items() if k != "wall"))
