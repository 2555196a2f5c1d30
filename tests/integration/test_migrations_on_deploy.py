"""The migrations function as CloudFormation runs it (the Custom::Migrations resource): invoked
in-process against a fresh PostgreSQL database of its own, answering on a local HTTP server that
stands in for the pre-signed S3 response URL."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import migrations_app
import pytest
from scripts_hash import SCRIPTS, scripts_hash
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

HEAD = max(p.name.split("_", 1)[0] for p in (SCRIPTS / "versions").glob("*.py"))


class _Answers(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Answers", (_Answers,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/bucket/stack-response?X-Amz-Signature=abc", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def empty_database(postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of its own, empty, which the function reaches through DATABASE_URL."""
    name = f"gbc_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class _Context:
    log_stream_name = "2026/01/01/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _event(url: str, request: str, hash_: str, old_hash: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/gbc-blackjack-dev/1",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "Migrations",
        "ResourceType": "Custom::Migrations",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:m",
            "MigrationsHash": hash_,
        },
    }
    if request != "Create":
        event["PhysicalResourceId"] = "gbc-schema"
    if old_hash is not None:
        event["OldResourceProperties"] = {"MigrationsHash": old_hash}
    return event


def _invoke(event: dict[str, Any], received: list[dict[str, Any]]) -> dict[str, Any]:
    before = len(received)
    migrations_app.lambda_handler(event, _Context())
    assert len(received) == before + 1, "exactly one answer per request"
    answer = received[-1]
    assert answer["headers"].get("Content-Type", "") == "", "the pre-signed URL is signed without a content type"
    body: dict[str, Any] = answer["body"]
    assert (body["RequestId"], body["LogicalResourceId"], body["StackId"]) == (
        event["RequestId"],
        "Migrations",
        event["StackId"],
    )
    return body


def _revision(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return []
            return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_create_migrates_an_empty_database_to_head_and_a_second_run_does_nothing(empty_database, response_url):
    url, received = response_url
    body = _invoke(_event(url, "Create", scripts_hash()), received)
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == "gbc-schema"
    assert body["Data"] == {"Revision": HEAD}
    assert "upgraded an empty schema" in body["Reason"]
    assert _revision(empty_database) == [HEAD]
    assert {"users", "games", "transactions", "outbox"} <= _tables(empty_database)

    again = _invoke(_event(url, "Update", scripts_hash(), old_hash="0" * 64), received)
    assert again["Status"] == "SUCCESS"
    assert again["Reason"] == f"already at head {HEAD}: nothing to do"
    assert _revision(empty_database) == [HEAD]


def test_a_failing_migration_fails_the_deploy_and_leaves_the_schema_as_it_was(
    empty_database, response_url, tmp_path, monkeypatch
):
    url, received = response_url
    assert _invoke(_event(url, "Create", scripts_hash()), received)["Status"] == "SUCCESS"
    scripts = tmp_path / "migrations"
    shutil.copytree(SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_broken.py").write_text(
        f'revision = "9999"\ndown_revision = "{HEAD}"\nbranch_labels = None\ndepends_on = None\n\n'
        "from alembic import op\n\n\ndef upgrade():\n"
        '    op.execute("CREATE TABLE half_done (id int)")\n'
        '    op.execute("SELECT 1 / 0")\n\n\ndef downgrade():\n    pass\n'
    )
    monkeypatch.setattr(migrations_app, "SCRIPTS", scripts)

    body = _invoke(_event(url, "Update", scripts_hash(scripts), old_hash=scripts_hash()), received)
    assert body["Status"] == "FAILED"
    assert "division by zero" in body["Reason"]
    assert "log stream 2026/01/01/[$LATEST]abc" in body["Reason"]
    assert body["PhysicalResourceId"] == "gbc-schema", "a failed update must not ask for a replacement"
    assert _revision(empty_database) == [HEAD], "one transaction: nothing of 9999 stays"
    assert "half_done" not in _tables(empty_database)

    # CloudFormation rolls back: the old properties come back while this (new) code is still deployed.
    rollback = _invoke(_event(url, "Update", scripts_hash(), old_hash=scripts_hash(scripts)), received)
    assert rollback["Status"] == "SUCCESS", rollback["Reason"]
    assert "rollback" in rollback["Reason"]
    assert _revision(empty_database) == [HEAD]


def test_a_hash_that_is_not_the_packaged_scripts_fails_before_touching_the_database(empty_database, response_url):
    url, received = response_url
    body = _invoke(_event(url, "Create", "f" * 64), received)
    assert body["Status"] == "FAILED"
    assert "stale build" in body["Reason"] and scripts_hash() in body["Reason"]
    assert _revision(empty_database) == []


def test_a_database_ahead_of_the_scripts_is_left_alone(empty_database, response_url):
    url, received = response_url
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0999')"))
    engine.dispose()
    body = _invoke(_event(url, "Create", scripts_hash()), received)
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert "0999, newer than these scripts" in body["Reason"]
    assert _revision(empty_database) == ["0999"]


def test_delete_leaves_schema_and_data(empty_database, response_url):
    url, received = response_url
    assert _invoke(_event(url, "Create", scripts_hash()), received)["Status"] == "SUCCESS"
    tables = _tables(empty_database)
    body = _invoke(_event(url, "Delete", scripts_hash()), received)
    assert body["Status"] == "SUCCESS"
    assert _tables(empty_database) == tables
    assert _revision(empty_database) == [HEAD]


def test_an_unreachable_database_fails_the_deploy_with_the_reason(response_url, monkeypatch):
    url, received = response_url
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nothing")
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "2")
    body = _invoke(_event(url, "Create", scripts_hash()), received)
    assert body["Status"] == "FAILED"
    assert "127.0.0.1" in body["Reason"] or "refused" in body["Reason"].lower(), body["Reason"]


def test_the_hash_follows_every_script_and_nothing_else(tmp_path):
    scripts = tmp_path / "m"
    shutil.copytree(SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    original = scripts_hash(scripts)
    assert original == scripts_hash(), "the copy and the packaged scripts hash alike"
    (scripts / "versions" / "__pycache__").mkdir()
    (scripts / "versions" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    (scripts / "README").write_text("notes")
    assert scripts_hash(scripts) == original
    first = sorted((scripts / "versions").glob("*.py"))[0]
    first.write_text(first.read_text() + "\n# changed\n")
    assert scripts_hash(scripts) != original


def test_the_packaged_scripts_are_the_repository_migrations():
    root = Path(__file__).resolve().parents[2]
    assert SCRIPTS.resolve() == (root / "migrations").resolve()
