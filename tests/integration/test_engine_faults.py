"""A write transaction whose connection dies gives its pool slot back and leaves no transaction
behind in the task, so the same task (a retry, the next sealer pass) can write again."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ledger.services.container import Services
from ledger.store import sql
from ledger.store.engine import POOL_SIZE_MAX

pytestmark = pytest.mark.postgres


async def _die_inside_a_write(services: Services) -> None:
    # The backend is gone mid-transaction: the statement's own error surfaces, not the failed
    # ROLLBACK's (asyncpg reports a closed connection as an InterfaceError).
    died = (asyncpg.exceptions.PostgresError, asyncpg.exceptions.ConnectionDoesNotExistError)
    with pytest.raises(died) as raised:
        async with services.db.write():
            await sql.fetch("SELECT pg_terminate_backend(pg_backend_pid())")
    assert "Transaction.rollback" not in str(raised.value)


async def test_a_connection_killed_inside_a_write_frees_its_slot_and_the_task(
    services: Services,
) -> None:
    for _ in range(POOL_SIZE_MAX + 2):  # more deaths than the pool has connections
        await _die_inside_a_write(services)
    assert services.db.engine.current_transaction.get() is None

    async def write_once() -> int:
        async with services.db.write():
            rows = await sql.fetch("SELECT 1 AS one")
        return int(rows[0]["one"])

    # Every slot is usable again: as many concurrent writes as the pool holds all finish.
    results = await asyncio.wait_for(
        asyncio.gather(*(write_once() for _ in range(POOL_SIZE_MAX))), timeout=20
    )
    assert results == [1] * POOL_SIZE_MAX


async def test_pooled_connections_that_died_idle_fail_at_begin_and_come_back(
    services: Services,
) -> None:
    """Every idle connection of the pool is killed from outside (a PostgreSQL restart does
    this): asyncpg notices the closed sockets, and the pool heals instead of shrinking."""
    pool = services.db.engine.pool
    held = [await pool.acquire() for _ in range(POOL_SIZE_MAX)]
    pids = [connection.get_server_pid() for connection in held]
    for connection in held:
        await pool.release(connection)
    killer = await asyncpg.connect(services.db.engine.config["dsn"])
    try:
        await killer.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", pids)
    finally:
        await killer.close()
    await asyncio.sleep(0.2)
    failures = 0
    for _ in range(POOL_SIZE_MAX):
        try:
            async with services.db.write():
                await sql.fetch("SELECT 1")
        except (asyncpg.exceptions.PostgresError, asyncpg.exceptions.InterfaceError, OSError):
            failures += 1
    assert services.db.engine.current_transaction.get() is None

    async def write_once() -> None:
        async with services.db.write():
            await sql.fetch("SELECT 1")

    await asyncio.wait_for(
        asyncio.gather(*(write_once() for _ in range(POOL_SIZE_MAX))), timeout=20
    )
