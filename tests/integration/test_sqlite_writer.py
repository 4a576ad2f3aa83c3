"""The SQLite writer runs on the event loop's thread (ledger/store/inline_sqlite.py): while
another process holds SQLite's write lock, a write waits without blocking the loop, then goes
through; past the busy timeout it fails cleanly and the next write works."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from ledger.store import engine as engine_module
from ledger.store.engine import current_engine
from tests.conftest import ENGINE
from tests.factories import credit, make_world

pytestmark = pytest.mark.skipif(
    ENGINE != "sqlite", reason="SQLite-only: the embedded writer connection"
)


def _hold_write_lock() -> sqlite3.Connection:
    other = sqlite3.connect(current_engine().path, isolation_level=None)  # type: ignore[attr-defined]
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_a_write_waits_for_another_process_without_blocking_the_loop(
    services: Services,
) -> None:
    world = await make_world(services)
    other = _hold_write_lock()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    waiting = asyncio.create_task(credit(services, world.account_id, 12))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    assert ticks >= 10, "the loop kept running while the write waited"
    other.rollback()
    other.close()
    receipt = await asyncio.wait_for(waiting, 5)
    ticker.cancel()
    assert receipt["balance_points"] == 12
    account = await services.accounts.account(SYSTEM, world.account_id)
    assert account.balance_points == 12


async def test_past_the_busy_timeout_the_write_fails_and_the_next_one_works(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(services)
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_SECONDS", 0.2)
    other = _hold_write_lock()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await credit(services, world.account_id, 5, key="blocked")
    other.rollback()
    other.close()
    receipt = await credit(services, world.account_id, 5, key="blocked")
    assert receipt["balance_points"] == 5
