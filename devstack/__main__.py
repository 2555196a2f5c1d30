"""python -m devstack {up,invoke,schedule,migrate,token}: the local stack and its commands."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.template import ROOT, Stack, background_functions, load_stack

if TYPE_CHECKING:
    from devstack.services import Services

DATA_DIR = Path(os.environ.get("DEVSTACK_DATA_DIR", ROOT / ".local"))
STATE_FILE = "stack.json"
METRICS_FILE = "metrics.jsonl"
CHAIN_FUNCTIONS = ("ChainPollerFunction",)  # paused when there is no chain (no Node.js)


def log(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def _running_stack_env(data_dir: Path) -> dict[str, str] | None:
    """The environment of a `make dev` already running on this data directory, if any."""
    state = data_dir / STATE_FILE
    if not state.exists():
        return None
    info = json.loads(state.read_text())
    try:
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError):
        return None
    return dict(info["env"])


@contextlib.contextmanager
def _environment(data_dir: Path) -> Iterator[Stack]:
    """Point this process at the running stack's services, or start services of its own."""
    from devstack.runtime import apply_environment
    from devstack.services import local_environment, start_services

    env = _running_stack_env(data_dir)
    if env is not None:
        apply_environment(env)
        yield load_stack(sqs_endpoint=env["SQS_ENDPOINT_URL"])
        return
    fresh_chain = not os.environ.get("CHAIN_RPC_URL")
    services = start_services(data_dir, sqs_port=_free_sqs_port())
    try:
        stack = load_stack(sqs_endpoint=services.env["SQS_ENDPOINT_URL"])
        apply_environment(local_environment(stack, services))
        _prepare(stack, fresh_chain)
        yield stack
    finally:
        services.stop()


def _free_sqs_port() -> int:
    from devstack.services import free_port

    return free_port()


def _prepare(stack: Stack, fresh_chain: bool) -> None:
    """Migrations and queues: what `up` and a one-off invoke both need before a handler runs. A chain
    the stack started itself is new and empty: the poller forgets what it read of the last one."""
    from devstack import migrate
    from devstack.services import create_queues, create_tables
    from gbc.chain.checkpoint import forget_chain
    from gbc.data.database import get_engine
    from gbc.data.transaction import unit_of_work
    from gbc.settings import get_settings

    started = time.perf_counter()
    migrate.upgrade(get_engine())
    create_queues(stack, os.environ["SQS_ENDPOINT_URL"])
    create_tables(stack, os.environ["SQS_ENDPOINT_URL"])  # the same moto server
    if fresh_chain:
        with unit_of_work() as uow:
            forget_chain(uow, get_settings().chain_id)
    log(f"migrations applied and queues created in {time.perf_counter() - started:.2f}s")


_stopping = False


def _interrupt(signum: int, frame: object) -> None:
    """The first Ctrl-C or SIGTERM stops the stack; later ones do not cut its cleanup short (that
    would leave processes it started behind)."""
    global _stopping
    if _stopping:
        log("still stopping: every process the stack started is being stopped")
        return
    _stopping = True
    raise KeyboardInterrupt


def _restart_hooks(stack: Stack, services: Services, fresh_chain: bool) -> None:
    """What a restarted service needs besides its process: moto forgets its queues and tables; a
    restarted hardhat node is a new, empty chain, which the poller reads afresh (as at startup)."""
    from devstack.services import create_queues, create_tables

    if "sqs" in services.managed:
        endpoint = services.env["SQS_ENDPOINT_URL"]
        services.managed["sqs"].on_restart.append(lambda: create_queues(stack, endpoint))
        services.managed["sqs"].on_restart.append(lambda: create_tables(stack, endpoint))
    if "chain" in services.managed and fresh_chain:
        services.managed["chain"].on_restart.append(_forget_chain)


def _forget_chain() -> None:
    from gbc.chain.checkpoint import forget_chain
    from gbc.data.transaction import unit_of_work
    from gbc.settings import get_settings

    with unit_of_work() as uow:
        forget_chain(uow, get_settings().chain_id)


def cmd_up(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    if _running_stack_env(data_dir) is not None:
        log(f"a local stack is already running on {data_dir}; stop it first (Ctrl-C)")
        return 1
    if args.reset and data_dir.exists():
        shutil.rmtree(data_dir)
        log(f"reset: removed {data_dir}")
    # Ctrl-C and SIGTERM both stop everything, from the first service started on. SIGINT is set
    # explicitly: a shell that starts us in the background leaves it ignored, and then Python would
    # not raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _up(args, data_dir)
    except KeyboardInterrupt:
        log("stopped while starting")
        return 130


def _local_parameters() -> dict[str, str]:
    """Template parameters a developer may set from the shell (like sam's --parameter-overrides):
    CORS_ALLOWED_ORIGINS for a frontend dev server on another origin."""
    origins = os.environ.get("CORS_ALLOWED_ORIGINS")
    return {"AllowedOrigins": origins} if origins else {}


def _up(args: argparse.Namespace, data_dir: Path) -> int:
    from devstack.containers import ContainerPool
    from devstack.control import LocalControl
    from devstack.http_api import LocalApi
    from devstack.http_server import serve
    from devstack.local_dashboard import LocalDashboard
    from devstack.local_metrics import MeteredInvoker, QueueSampler, metered_gateway
    from devstack.metrics_file import ENV_VARIABLE, MetricsFile
    from devstack.metrics_store import MetricsStore
    from devstack.play import LocalPlay
    from devstack.runtime import apply_environment
    from devstack.scheduler import Scheduler
    from devstack.services import local_environment, start_services
    from devstack.sqs_pump import SqsPump
    from devstack.supervisor import Supervisor
    from devstack.websocket import LocalWebSocketApi
    from ops.dashboard import dashboard_panels

    started = time.perf_counter()
    fresh_chain = not os.environ.get("CHAIN_RPC_URL")
    chain = "a fresh hardhat node" if fresh_chain else "from the environment"
    services = start_services(data_dir, sqs_port=args.sqs_port)
    supervisor = Supervisor(services.managed, log)
    try:
        stack = load_stack(sqs_endpoint=services.env["SQS_ENDPOINT_URL"], parameters=_local_parameters())
        env = local_environment(stack, services)
        # The WebSocket API and its @connections endpoint (devstack.websocket); DynamoDB is moto's.
        here = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104 - a comparison
        env.update(
            REALTIME_URL=f"ws://{here}:{args.ws_port}",
            REALTIME_MANAGEMENT_URL=f"http://{here}:{args.port}",
            DYNAMODB_ENDPOINT_URL=env["SQS_ENDPOINT_URL"],
        )
        apply_environment(env)
        _prepare(stack, fresh_chain)
        _restart_hooks(stack, services, fresh_chain)
        supervisor.start()
        import boto3

        answers = {a.function: {"Unauthorized"} for a in stack.authorizers.values()}
        # The functions' EMF lines go to the metrics file, not the console (devstack.metrics_file);
        # the stack adds what AWS would measure (devstack.local_metrics): /_local/dashboard charts both.
        metrics = MetricsFile(data_dir / METRICS_FILE, truncate=True)
        container_env = {**env, ENV_VARIABLE: str(metrics.path)}
        runtime = ContainerPool(
            stack.functions,
            container_env,
            size=args.containers,
            log=log,
            answers=answers,
            background=background_functions(stack),
        )
        invoker = MeteredInvoker(runtime, metrics)
        api = LocalApi(stack, invoker, log)
        websocket = LocalWebSocketApi(stack, invoker, log, args.host, args.ws_port)
        paused = {fn: "no local chain" for fn in CHAIN_FUNCTIONS if "chain" in services.unavailable}
        scheduler = Scheduler(stack, invoker, log, speed=args.schedule_speed, paused=paused)
        sqs = boto3.client("sqs", endpoint_url=env["SQS_ENDPOINT_URL"], region_name="us-east-1")
        pump = SqsPump(stack, invoker, sqs, log, concurrency_cap=args.worker_concurrency)
        control = LocalControl(scheduler, services, runtime, log)
        sampler = QueueSampler(stack, env["SQS_ENDPOINT_URL"], sqs, metrics)
        dashboard = LocalDashboard(dashboard_panels(), MetricsStore(metrics.path), list(services.unavailable.values()))
        gateway = metered_gateway(api.wsgi_app, metrics)

        play = LocalPlay(data_dir)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            if play.handles(environ.get("PATH_INFO", "")):  # /play and its dev wallet (devstack.play)
                return play(environ, start_response)
            if dashboard.handles(environ.get("PATH_INFO", "")):  # before /_local/ (devstack.local_dashboard)
                return dashboard(environ, start_response)
            if control.handles(environ.get("PATH_INFO", "")):
                return control(environ, start_response)
            if environ.get("PATH_INFO", "").startswith("/@connections/"):
                return websocket.management_api(environ, start_response)
            return gateway(environ, start_response)

        server = serve(args.host, args.port, app)
        websocket.start()
        pump.start()
        scheduler.start()
        sampler.start()
        (data_dir / STATE_FILE).write_text(json.dumps({"pid": os.getpid(), "port": args.port, "env": env}))
        log(f"ready in {time.perf_counter() - started:.2f}s: API on http://{args.host}:{args.port}")
        for route in stack.routes:
            log(f"  {route.method:6} {route.path:28} -> {route.function}{'' if route.authorizer else ' (public)'}")
        log(f"  WebSocket pushes on {websocket.url} (ticket: POST /api/realtime/ticket)")
        log(
            f"  play in a browser: http://{here}:{args.port}/play; dashboard: http://{here}:{args.port}/_local/dashboard"
        )
        log(f"  metrics (the functions' EMF lines) in {metrics.path}")
        log(f"  SQS {env['SQS_ENDPOINT_URL']}; schedules every period/{args.schedule_speed:g}; data in {data_dir}")
        if "chain" in services.unavailable:
            log(f"  {services.unavailable['chain']}")
        else:
            rpc, chain_id = env.get("CHAIN_RPC_URL"), env.get("CHAIN_ID")
            log(f"  chain {rpc} ({chain}, id {chain_id}); try `python -m devstack player`")
            addresses = (env.get(name) for name in ("TOKEN_ADDRESS", "VAULT_ADDRESS", "FAUCET_ADDRESS"))
            log("    token {} vault {} faucet {}".format(*addresses))
        log(f"  supervised: {', '.join(services.managed) or 'nothing'}; controls under /_local/ (GET /_local/services)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log("stopping")
        finally:
            server.server_close()
            supervisor.stop()  # first: nothing is restarted while the stack stops it
            websocket.stop()
            pump.stop()
            scheduler.stop()
            sampler.stop()
            runtime.stop()
    finally:
        supervisor.stop()
        with contextlib.suppress(FileNotFoundError):
            (data_dir / STATE_FILE).unlink()
        services.stop()
        log("stopped")
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    from devstack.runtime import Runtime

    event = json.loads(Path(args.event).read_text()) if args.event else {}
    with _environment(args.data_dir) as stack:
        if args.function not in stack.functions:
            log(f"no function {args.function}; the template has: {', '.join(stack.functions)}")
            return 2
        started = time.perf_counter()
        try:
            result = Runtime(stack.functions).invoke(args.function, event)
        except Exception as exc:
            # What Lambda reports for a handler that raised.
            print(json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}, indent=2))
            return 1
        log(f"{args.function} answered in {(time.perf_counter() - started) * 1000:.1f} ms (incl. import)")
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from devstack.runtime import Runtime
    from devstack.scheduler import Scheduler

    with _environment(args.data_dir) as stack:
        scheduler = Scheduler(stack, Runtime(stack.functions), log, speed=0)
        if args.name not in scheduler.by_name:
            log(f"no schedule {args.name}; the template has: {', '.join(s.name for s in stack.schedules)}")
            return 2
        result = scheduler.run(args.name)
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    with _environment(args.data_dir):
        pass  # _environment applies the migrations
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Create (or find) the user of a wallet, with the sign-up bonus a new user gets at sign-in, and
    print a session token (with --env: shell assignments of TOKEN and USER_ID): for trying the API by
    hand, the seed's curl commands among them (README)."""
    # Only the token goes to stdout (for `eval`/`$(...)`); logs and metrics go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        from sqlalchemy import select
        from sqlalchemy.dialects.postgresql import insert

        from gbc.auth.service import grant_signup_bonus
        from gbc.auth.tokens import issue_token
        from gbc.data.models import User
        from gbc.data.transaction import unit_of_work

        wallet = args.wallet.lower()
        with _environment(args.data_dir):
            from gbc.bootstrap import bootstrap

            bootstrap()  # the cache hears of the bonus, as in a function
            with unit_of_work() as uow:
                created = uow.session.execute(
                    insert(User).values(wallet_address=wallet).on_conflict_do_nothing().returning(User.id)
                ).first()
                user_id = uow.session.scalars(select(User.id).where(User.wallet_address == wallet)).one()
                if created is not None:
                    grant_signup_bonus(uow, user_id)
            token = issue_token(user_id, wallet)
    print(f"TOKEN={token}\nUSER_ID={user_id}" if args.env else token)
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    """The DLQ redrive command against the local stack's queues."""
    from gbc.queue import redrive

    with _environment(args.data_dir):
        return redrive.main(["--queue", args.queue, *(["--move"] if args.move else []), *args.rest])


def cmd_stats(args: argparse.Namespace) -> int:
    """The manual stats recompute against the local stack's database."""
    from gbc.stats import recompute

    with _environment(args.data_dir):
        return recompute.main(["--all"] if args.all else ["--user", args.user])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="where embedded services keep data")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole stack until Ctrl-C")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=int(os.environ.get("PORT", 3000)))
    up.add_argument("--ws-port", type=int, default=int(os.environ.get("DEVSTACK_WS_PORT", 3001)))
    up.add_argument("--sqs-port", type=int, default=int(os.environ.get("DEVSTACK_SQS_PORT", 9324)))
    up.add_argument("--reset", action="store_true", help="delete the data directory first")
    up.add_argument(
        "--schedule-speed",
        type=float,
        default=float(os.environ.get("DEVSTACK_SCHEDULE_SPEED", 60)),
        help="run schedules this many times faster than in AWS (0 = only on demand)",
    )
    up.add_argument(
        "--containers",
        type=int,
        default=int(os.environ.get("DEVSTACK_CONTAINERS", 4)),
        help="containers (processes) per function; each serves one invocation at a time, as in Lambda",
    )
    up.add_argument(
        "--worker-concurrency",
        type=int,
        default=int(os.environ.get("DEVSTACK_WORKER_CONCURRENCY", 4)),
        help="pollers per SQS mapping, at most the template's MaximumConcurrency",
    )
    up.set_defaults(func=cmd_up)

    invoke = sub.add_parser("invoke", help="invoke one function once with an event file (like sam local invoke -e)")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. ApiFunction")
    invoke.add_argument("--event", "-e", help="event JSON file, e.g. events/api_health.json")
    invoke.set_defaults(func=cmd_invoke)

    schedule = sub.add_parser("schedule", help="run one schedule now, e.g. ChainPollerFunction.Poll")
    schedule.add_argument("name")
    schedule.set_defaults(func=cmd_schedule)

    migrate = sub.add_parser("migrate", help="apply the migrations")
    migrate.set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="print a session token for a wallet (creates the user)")
    token.add_argument("wallet")
    token.add_argument("--env", action="store_true", help="print TOKEN=... and USER_ID=... (for eval)")
    token.set_defaults(func=cmd_token)

    dlq = sub.add_parser("redrive", help="list (dry run) or --move DLQ messages back to their queue")
    dlq.add_argument("--queue", choices=["jobs", "priority"], default="jobs")
    dlq.add_argument("--move", action="store_true")
    dlq.add_argument("rest", nargs="*", help="more options for gbc.queue.redrive, e.g. --limit 5")
    dlq.set_defaults(func=cmd_redrive)

    stats = sub.add_parser("stats", help="recompute precomputed stats: --all or --user ID")
    who = stats.add_mutually_exclusive_group(required=True)
    who.add_argument("--all", action="store_true")
    who.add_argument("--user")
    stats.set_defaults(func=cmd_stats)

    from devstack import player  # web3 is imported only when the command runs

    player.add_parser(sub)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
