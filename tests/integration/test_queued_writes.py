"""A queued write (`sql.later`) that fails is named by the error, whichever statement sent it:
the INSERT that carried it (`sql.fetch_carrying`), the flush before another statement or a
Piccolo query, or the flush before COMMIT (Database.write())."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
import pytest

from ledger.domain.accounts import AccountKind
from ledger.domain.entries import EntryKind, Transfer
from ledger.services.container import Services
from ledger.store import facts, lots, sql
from ledger.store import ledger as store
from ledger.store.tables import BoardFact
from tests.factories import make_world

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
LOT = "INSERT INTO lot (account_id, entry_id, points, remaining_points, expires_on, created_at)"
FACT = "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) VALUES ($1"


async def _entry(services: Services) -> tuple[int, int, int]:
    """A community, a household account and an entry crediting it."""
    world = await make_world(services)
    issuance = await store.community_account(world.community_id, AccountKind.ISSUANCE, 0)
    transfer = Transfer(
        debit_account_id=issuance,
        credit_account_id=world.account_id,
        amount_points=5,
        kind=EntryKind.ADJUSTMENT,
        memo="",
        rule_version=3,
    )
    async with services.db.write():
        posted = await store.post(transfer, event_id="seed", actor="t", now=NOW)
    return world.community_id, world.account_id, posted.entry_id


async def _queue_a_bad_lot(account_id: int, entry_id: int) -> None:
    """A lot of -1 points: lot_remaining_in_range refuses it (a CHECK)."""
    await sql.later(lots.OPEN_LOT, account_id, entry_id, -1, date(2027, 12, 4), NOW)


def _notes(error: BaseException) -> str:
    return " | ".join(getattr(error, "__notes__", []))


async def test_a_failing_write_carried_by_an_insert_is_named(services: Services) -> None:
    community_id, account_id, entry_id = await _entry(services)

    async def work() -> None:
        async with services.db.write():
            await facts.record(community_id, "points", {"account": 1, "delta": 2}, NOW.date(), NOW)
            await _queue_a_bad_lot(account_id, entry_id)
            await sql.fetch_carrying(
                "INSERT INTO entry_unsealed (entry_id) VALUES ($1)", entry_id + 10_000
            )

    with pytest.raises(asyncpg.exceptions.CheckViolationError) as raised:
        await work()
    notes = _notes(raised.value)
    assert f"the queued write `{LOT}" in notes
    assert "sent ahead of `INSERT INTO entry_unsealed (entry_id) VALUES ($1)`" in notes
    assert "board_fact" not in notes  # the one that failed, not every one it rode with
    assert await BoardFact.count() == 0  # all of it rolled back


async def test_a_failing_write_flushed_before_a_piccolo_query_is_named(
    services: Services,
) -> None:
    _, account_id, entry_id = await _entry(services)

    async def work() -> None:
        async with services.db.write():
            await _queue_a_bad_lot(account_id, entry_id)
            await BoardFact.count()

    with pytest.raises(asyncpg.exceptions.CheckViolationError) as raised:
        await work()
    assert f"the queued write `{LOT}" in _notes(raised.value)
    assert "sent ahead of `a Piccolo query`" in _notes(raised.value)


async def test_a_failing_write_left_for_commit_is_named(services: Services) -> None:
    _, account_id, entry_id = await _entry(services)
    with pytest.raises(asyncpg.exceptions.CheckViolationError) as raised:
        async with services.db.write():
            await _queue_a_bad_lot(account_id, entry_id)
    assert f"the queued write `{LOT}" in _notes(raised.value)
    assert "sent ahead of `COMMIT`" in _notes(raised.value)


async def test_the_carrying_statements_own_failure_names_no_queued_write(
    services: Services,
) -> None:
    community_id, _, entry_id = await _entry(services)

    async def work() -> None:
        async with services.db.write():
            await facts.record(community_id, "points", {"account": 1, "delta": 2}, NOW.date(), NOW)
            # the entry is unsealed already: the carrying INSERT itself fails
            await sql.fetch_carrying("INSERT INTO entry_unsealed (entry_id) VALUES ($1)", entry_id)

    with pytest.raises(asyncpg.exceptions.UniqueViolationError) as raised:
        await work()
    assert _notes(raised.value) == ""


async def test_only_an_insert_carries_queued_writes() -> None:
    with pytest.raises(ValueError, match="only an INSERT"):
        await sql.fetch_carrying("SELECT 1")
