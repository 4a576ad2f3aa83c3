"""Run by test_partitioned_entries.py in a child process, against its own PostgreSQL database
(the Piccolo engine is one per process). Exits 0 only if every check holds."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime

from ledger.domain.access import SYSTEM
from ledger.domain.errors import AlreadyReversed
from ledger.domain.scan_codes import Keyring
from ledger.services.accounts import Reversed
from ledger.services.container import Services
from ledger.store.migrate import migrate
from ledger.store.partitioning import is_partitioned, partition_entries_by_month
from ledger.store.tables import Entry
from tests.factories import FrozenClock, credit, event_id, make_world


async def main() -> None:
    ok, message = await migrate()
    assert ok, message
    clock = FrozenClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    services = Services.build(Keyring("a", {"a": b"k" * 32}), "http://test", clock=clock)
    await services.db.start()
    try:
        world = await make_world(services)
        before = await credit(services, world.account_id, 40)
        assert await partition_entries_by_month(date(2026, 10, 1), 4) == 4
        assert await is_partitioned()
        await _exercise(services, clock, world.account_id, before["entry_id"])
    finally:
        await services.db.close()


async def _exercise(
    services: Services, clock: FrozenClock, account_id: int, old_entry: int
) -> None:
    later = await credit(services, account_id, 25)
    clock.advance(days=40)  # into the next month's partition
    await credit(services, account_id, 5)
    reversal = await services.accounts.reverse(SYSTEM, event_id(), later["entry_id"], "wrong")
    results = await asyncio.gather(
        *(services.accounts.reverse(SYSTEM, event_id(), old_entry, "twice") for _ in range(4)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Reversed) for r in results) == 1, results
    assert all(isinstance(r, Reversed | AlreadyReversed) for r in results), results
    assert reversal.reverses_entry_id == later["entry_id"]
    partitions = await Entry.raw(
        "SELECT tableoid::regclass::text AS part, COUNT(*) AS n FROM entry GROUP BY 1 ORDER BY 1"
    )
    print("entries per partition:", {row["part"]: row["n"] for row in partitions})
    assert len(partitions) >= 2
    account = await services.accounts.account(SYSTEM, account_id)
    assert account.balance_points == 5, account
    await services.sealer.seal_all()
    report = await services.verifier.verify()
    assert report.ok, report
    print("verify:", [check.name for check in report.checks if check.ok])


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
