"""Runs the Alembic migrations on deploy: the handler of the template's Custom::Migrations resource.

- Create / Update: `alembic upgrade head` through RDS Proxy, in one transaction (PostgreSQL DDL is
  transactional: a failed migration leaves the schema as it was) under an advisory lock, with a
  statement timeout that ends before the Lambda does, so CloudFormation always gets an answer.
  Already at head: nothing to do (idempotent).
- Delete: nothing. A stack delete never drops a table or a row; the database lives in the data stack.
- The resource's MigrationsHash must be the hash of the scripts this function carries
  (scripts_hash.py): a different one is a stale build, which fails the deploy. One exception: an
  Update whose *old* properties carry this function's hash is CloudFormation rolling back while the
  new code is still deployed; the schema is left as it is (never downgraded) and the rollback goes on.
- A database already past these scripts' head (a newer deploy migrated it, then this one rolled
  back) is left as it is too.

Heavy imports (alembic, SQLAlchemy, gbc) happen inside the handler, so that a broken package (say,
alembic missing) still answers CloudFormation with FAILED instead of leaving the stack waiting.
"""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# The functions' convention (see api_app): no collection while the module is built, then freeze.
gc.disable()

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from cfn_response import send
from scripts_hash import SCRIPTS, scripts_hash

logger = Logger(service="gbc-migrations")

PHYSICAL_ID = "gbc-schema"
# pg_advisory_xact_lock key: one migration run at a time per database (a deploy and a manual run).
LOCK_KEY = 0x6762_635F_6D69_67  # "gbc_mig"
# Time kept back from the Lambda timeout for the rollback of a cancelled statement and the answer.
ANSWER_MARGIN_MS = 60_000
# A DDL statement waiting longer than this for a table lock gives up (and the deploy fails) rather
# than queue the players' queries behind it.
LOCK_TIMEOUT_MS = 10_000


gc.freeze()
gc.enable()


class MigrationsError(Exception):
    """A request this function refuses, with the reason CloudFormation shows."""


@dataclass
class Outcome:
    reason: str
    data: dict[str, str] = field(default_factory=dict)


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    physical_id = event.get("PhysicalResourceId") or PHYSICAL_ID
    try:
        outcome = handle(event, context)
    except Exception as error:
        logger.exception("migrations failed")
        where = f" (log stream {context.log_stream_name})" if getattr(context, "log_stream_name", None) else ""
        send(event, "FAILED", f"{type(error).__name__}: {error}{where}", physical_id)
        return
    logger.info("migrations answered", request=event["RequestType"], reason=outcome.reason)
    send(event, "SUCCESS", outcome.reason, physical_id, outcome.data)


def handle(event: dict[str, Any], context: Any, scripts: Path | None = None) -> Outcome:
    scripts = scripts or SCRIPTS
    request = event["RequestType"]
    if request == "Delete":
        return Outcome("nothing done: a stack delete leaves the schema and its data as they are")
    shipped = scripts_hash(scripts)
    wanted = event.get("ResourceProperties", {}).get("MigrationsHash")
    if wanted != shipped:
        previous = event.get("OldResourceProperties", {}).get("MigrationsHash")
        if request == "Update" and previous == shipped:
            return Outcome(f"rollback to scripts {wanted}: the schema is left as it is (never downgraded)")
        raise MigrationsError(
            f"MigrationsHash {wanted!r} is not the hash of the scripts this function carries ({shipped}): "
            "a stale build? `make deploy` builds and computes it (functions/migrations/scripts_hash.py)"
        )
    return upgrade(scripts, _budget_ms(context))


def _budget_ms(context: Any) -> int:
    remaining = int(context.get_remaining_time_in_millis()) if context is not None else 900_000
    return max(remaining - ANSWER_MARGIN_MS, 5_000)


def upgrade(scripts: Path, budget_ms: int) -> Outcome:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError
    from sqlalchemy import text

    from gbc.data.database import build_engine
    from gbc.settings import Settings

    config = Config()  # no alembic.ini: env.py reads the app's settings, logging is Lambda's
    config.set_main_option("script_location", str(scripts))
    config.attributes["configure_logger"] = False
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head() or ""
    engine = build_engine(Settings())
    try:
        with engine.begin() as connection:
            connection.execute(text(f"SET LOCAL statement_timeout = {int(budget_ms)}"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            connection.execute(text(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))
            before = MigrationContext.configure(connection).get_current_heads()
            for revision in before:
                try:
                    script.get_revision(revision)
                except CommandError:
                    return Outcome(
                        f"the database is at {revision}, newer than these scripts (head {head}): left as it is",
                        {"Revision": revision},
                    )
            if head in before:
                return Outcome(f"already at head {head}: nothing to do", {"Revision": head})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            after = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    was = ",".join(before) or "an empty schema"
    return Outcome(f"upgraded {was} to {','.join(after)}", {"Revision": ",".join(after)})
