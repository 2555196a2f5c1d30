"""The reliability suite's fixtures: a fresh local stack started by the tests themselves (`--reset`
in a temp data dir, free ports), shared by the runs that do not break it; the faults run gets its own.
Budgets are small inside `make test` and full with RELIABILITY_FULL=1 (`make test-reliability`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reliability.runs import Budgets
from reliability.stack import LocalStack, StackStartError


@pytest.fixture(scope="session")
def budgets() -> Budgets:
    return Budgets.from_env()


def _start(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[LocalStack]:
    stack = LocalStack(tmp_path_factory.mktemp(name) / "data")
    try:
        stack.start()
    except StackStartError as exc:
        pytest.fail(str(exc))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def reliability_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    yield from _start(tmp_path_factory, "reliability")


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    yield from _start(tmp_path_factory, "faults")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Every run's summary at the end, passed or failed (the JSON is in bench/results/)."""
    from reliability import runs

    if runs.REPORTS:
        terminalreporter.section("reliability")
        for report in runs.REPORTS:
            terminalreporter.write_line(runs.summary(report))
