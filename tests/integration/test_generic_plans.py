"""The grading committer's transactions run on generic plans (ledger/store/engine.py,
GENERIC_PLANS_BEGIN): set for the transaction only, in its BEGIN, and gone with it, whether it
commits, rolls back or its connection dies."""

from __future__ import annotations

import asyncpg
import pytest

from ledger.services.container import Services
from ledger.store import sql
from ledger.store.engine import POOL_SIZE_MAX

pytestmark = pytest.mark.postgres

SETTING = "SELECT current_setting('plan_cache_mode') AS mode"


async def _mode(services: Services, *, generic_plans: bool) -> str:
    async with services.db.write(generic_plans=generic_plans):
        rows = await sql.fetch(SETTING)
    return str(rows[0]["mode"])


async def test_generic_plans_hold_in_their_transaction_only(services: Services) -> None:
    assert await _mode(services, generic_plans=True) == "force_generic_plan"
    # The same pooled connections, in other transactions and outside any: the default again.
    for _ in range(POOL_SIZE_MAX + 1):
        assert await _mode(services, generic_plans=False) == "auto"
        assert str((await sql.fetch(SETTING))[0]["mode"]) == "auto"


async def _insert_then_fail(services: Services) -> None:
    async with services.db.write(generic_plans=True):
        await sql.fetch("INSERT INTO generic_plans_rollback VALUES (1)")
        await sql.fetch("SELECT 1 / 0 AS nothing")


async def test_a_failed_generic_plans_write_rolls_back_and_leaves_a_clean_connection(
    services: Services,
) -> None:
    await sql.fetch("CREATE TABLE generic_plans_rollback (n int)")
    try:
        with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
            await _insert_then_fail(services)
        assert await sql.fetch("SELECT n FROM generic_plans_rollback") == []
    finally:
        await sql.fetch("DROP TABLE generic_plans_rollback")
    assert services.db.engine.current_transaction.get() is None
    for _ in range(POOL_SIZE_MAX + 1):  # every connection of the pool is usable and clean
        assert await _mode(services, generic_plans=False) == "auto"


async def test_a_generic_plans_write_commits_what_it_wrote(services: Services) -> None:
    async with services.db.write(generic_plans=True):
        await sql.fetch("CREATE TABLE generic_plans_probe (n int)")
        await sql.fetch("INSERT INTO generic_plans_probe VALUES (1)")
    try:
        rows = await sql.fetch("SELECT n FROM generic_plans_probe")
        assert [row["n"] for row in rows] == [1]
    finally:
        await sql.fetch("DROP TABLE generic_plans_probe")


async def test_a_connection_killed_inside_a_generic_plans_write_frees_its_slot(
    services: Services,
) -> None:
    died = (asyncpg.exceptions.PostgresError, asyncpg.exceptions.ConnectionDoesNotExistError)
    for _ in range(POOL_SIZE_MAX + 2):
        with pytest.raises(died):
            async with services.db.write(generic_plans=True):
                await sql.fetch("SELECT pg_terminate_backend(pg_backend_pid())")
    assert services.db.engine.current_transaction.get() is None
    assert await _mode(services, generic_plans=True) == "force_generic_plan"
