"""`seal_all` numbers everything committed before it was called, even while another sealer holds
the lock (issue 12: the crash and property tests lost facts when it returned early)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import asyncpg
import pytest

from ledger.services.container import Services
from ledger.store import facts
from ledger.store.seals import SEALER_LOCK_KEY

pytestmark = pytest.mark.postgres

WAITING_FOR_THE_LOCK = (
    "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def test_seal_all_waits_for_another_sealer_instead_of_stopping(services: Services) -> None:
    async with services.db.write():
        await facts.record(
            1,
            "hours",
            {"volunteer": 1, "minutes": 30},
            date(2026, 12, 6),
            datetime(2026, 12, 6, 2, 0, tzinfo=UTC),
        )
    # Another sealer, or the transaction of a process just killed that PostgreSQL has not yet
    # ended, holds the lock.
    other = await asyncpg.connect(services.db.engine.config["dsn"])
    try:
        holder = other.transaction()
        await holder.start()
        await other.execute("SELECT pg_advisory_xact_lock($1)", SEALER_LOCK_KEY)
        sealing = asyncio.create_task(services.sealer.seal_all())
        for _ in range(500):  # until seal_all's transaction waits on the lock (bounded)
            if sealing.done() or await other.fetchval(WAITING_FOR_THE_LOCK):
                break
            await asyncio.sleep(0.01)
        assert not sealing.done(), "seal_all returned while another sealer held the lock"
        assert await facts.pending_count() == 1
        await holder.commit()
        await asyncio.wait_for(sealing, timeout=20)
    finally:
        await other.close()
    assert await facts.pending_count() == 0
    assert await facts.head() == 1
