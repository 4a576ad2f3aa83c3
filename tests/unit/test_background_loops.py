"""The background loops' common part (ledger/services/background.py): a failed pass is logged
and retried, one warning line when the database is away, a traceback for anything else; the
loop ends when asked to stop."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest

from ledger.services import background

log = logging.getLogger("tests.background")


async def test_a_poll_survives_failed_passes_and_ends_when_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    failures: list[BaseException] = [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        ZeroDivisionError("a bug"),
    ]
    passes = 0

    async def one_pass() -> int:
        nonlocal passes
        passes += 1
        if failures:
            raise failures.pop(0)
        stop.set()
        return 1

    with caplog.at_level(logging.WARNING, logger=log.name):
        await asyncio.wait_for(
            background.poll(
                stop, one_pass, log=log, name="notices", doing="notice projection", idle_seconds=0
            ),
            timeout=5,
        )
    assert passes == 3
    away, bug = [r for r in caplog.records if r.name == log.name]
    assert away.levelno == logging.WARNING
    assert away.exc_info is None
    assert away.getMessage() == "notices paused, database unavailable: connection was closed"
    assert bug.levelno == logging.ERROR
    assert bug.exc_info is not None
    assert bug.getMessage() == "notice projection failed; retrying"


async def test_a_pass_that_did_nothing_waits_until_stopped() -> None:
    stop = asyncio.Event()
    passes = 0

    async def one_pass() -> int:
        nonlocal passes
        passes += 1
        asyncio.get_running_loop().call_later(0.05, stop.set)
        return 0

    # An idle wait of a minute ends as soon as the loop is asked to stop.
    await asyncio.wait_for(
        background.poll(stop, one_pass, log=log, name="n", doing="d", idle_seconds=60), timeout=5
    )
    assert passes == 1


def test_a_failed_metered_step_names_the_database_or_keeps_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=log.name):
        for error in (asyncpg.exceptions.ConnectionDoesNotExistError("gone"), KeyError("bug")):
            try:
                raise error
            except Exception as caught:
                background.step_failed(log, "seal", "sealing", caught)
    away, bug = [r for r in caplog.records if r.name == log.name]
    assert away.getMessage() == (
        "sealing failed; retrying: database unavailable: ConnectionDoesNotExistError: gone"
    )
    assert away.exc_info is None
    assert bug.getMessage() == "sealing failed; retrying"
    assert bug.exc_info is not None
