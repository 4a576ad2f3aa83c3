"""Fault injection against private servers: `make chaos` (GREENLEDGER_CHAOS=1) runs these.

In the ordinary `pytest` run they are skipped: they start their own PostgreSQL cluster, Redis
and API processes, and kill some of them on purpose. `make chaos` runs pytest with
`--confcutdir=tests/chaos`, so the suite's own conftest (test databases on the shared servers)
is not loaded at all.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tests.chaos import report
from tests.chaos.servers import PrivatePostgres, PrivateRedis, missing_binaries, stop_everything

CHAOS = os.environ.get("GREENLEDGER_CHAOS") == "1"
HERE = Path(__file__).parent
TEST_SECONDS_MAX = 180


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHAOS:
        return
    skip = pytest.mark.skip(reason="fault injection on private servers: run by `make chaos`")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    if not CHAOS:
        return

    # A CI timeout or ^C ends the run through the fixtures' finalizers, not around them.
    def interrupted(signum: int, frame: FrameType | None) -> None:
        stop_everything()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if report.TABLES:
        terminalreporter.section("chaos figures")
        for text in report.TABLES:
            terminalreporter.write_line(text)
            terminalreporter.write_line("")


@pytest.fixture(autouse=True)
def bounded_in_time() -> Iterator[None]:
    """No test may hang the run: SIGALRM fails it after TEST_SECONDS_MAX."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"chaos test still running after {TEST_SECONDS_MAX} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_SECONDS_MAX)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def binaries() -> None:
    missing = missing_binaries()
    if missing:
        pytest.fail(f"make chaos needs {', '.join(missing)} (apt-get install postgresql redis)")


@pytest.fixture(scope="session")
def postgres(binaries: None) -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(binaries: None) -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def log_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """The servers' logs: kept when a test failed or GREENLEDGER_CHAOS_KEEP_LOGS=1."""
    path = Path(tempfile.mkdtemp(prefix="gl-chaos-logs-"))
    yield path
    if request.session.testsfailed or os.environ.get("GREENLEDGER_CHAOS_KEEP_LOGS") == "1":
        print(f"\nserver logs kept in {path}")
        return
    for log in path.iterdir():
        log.unlink()
    path.rmdir()
