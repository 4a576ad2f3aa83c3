"""PgBouncer 1.18 in transaction mode in front of PostgreSQL (GREENLEDGER_PGBOUNCER=1).

PgBouncer hands each transaction whichever server connection is free, so nothing may live in a
session: asyncpg's prepared statements (1.18 keeps none in transaction mode: the setting turns
asyncpg's statement cache off) and session advisory locks (the sealer's is transaction-scoped).
The API tests marked `pgbouncer` also run through one (Makefile, tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from ledger.store.engine import engine_from_url
from ledger.store.seals import SEALER_LOCK_KEY
from tests.conftest import _PG_DATABASE, PG_PORT
from tests.factories import event_id, make_world
from tests.past_one_box import PGBOUNCER, PgBouncerProcess, need, wait_until

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "pgbouncer-test-secret-key-long-enough-0123456789"


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PgBouncerProcess]:
    """In front of the shared PostgreSQL, passing the test database through."""
    need(PGBOUNCER)
    process = PgBouncerProcess(PG_PORT, pool_size=4)
    try:
        process.start()
        yield process
    finally:
        process.stop()


def _connect(bouncer: PgBouncerProcess, **config: Any) -> Any:
    return asyncpg.connect(dsn=bouncer.url(_PG_DATABASE), **config)


async def test_the_pgbouncer_setting_is_what_makes_statements_work_through_it(
    bouncer: PgBouncerProcess,
) -> None:
    """With the engine's own connection settings: A's statement is prepared on one server
    connection; B's open transaction holds that one, so A's next goes to another."""
    for pgbouncer in (False, True):
        config = engine_from_url(bouncer.url(_PG_DATABASE), pgbouncer=pgbouncer).config
        extra = {key: value for key, value in config.items() if key != "dsn"}
        a, b = await _connect(bouncer, **extra), await _connect(bouncer, **extra)
        try:
            assert await a.fetchval("SELECT $1::int", 1) == 1
            async with b.transaction():
                await b.execute("SELECT 1")
                if pgbouncer:
                    assert await a.fetchval("SELECT $1::int", 2) == 2
                else:
                    with pytest.raises(asyncpg.InvalidSQLStatementNameError):
                        await a.fetchval("SELECT $1::int", 2)
        finally:
            await a.close()
            await b.close()


async def _advisory_locks() -> int:
    connection = await asyncpg.connect(
        host="127.0.0.1", port=PG_PORT, user="postgres", database=_PG_DATABASE
    )
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return count
    finally:
        await connection.close()


def _greenledger(bouncer: PgBouncerProcess, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLEDGER_")}
    env |= {
        "GREENLEDGER_DATABASE_URL": bouncer.url(_PG_DATABASE),
        "GREENLEDGER_PGBOUNCER": "1",
        "GREENLEDGER_SECRET_KEY": SECRET_KEY,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(  # noqa: S603 (this interpreter, our own CLI)
        [sys.executable, "-m", "api.cli", *args],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


async def test_the_sealer_lock_holds_through_pgbouncer_and_leaks_nothing(
    services: Services, bouncer: PgBouncerProcess
) -> None:
    """Another sealer (here the test) holds the lock through PgBouncer; `greenledger verify
    --seal`, through PgBouncer too, waits for it, then seals everything; no lock is left on
    the server connections PgBouncer keeps."""
    world = await make_world(services)
    for _ in range(3):
        await services.accounts.adjust(SYSTEM, event_id(), world.account_id, 5, "opening points")
    holder = await _connect(bouncer, statement_cache_size=0)
    try:
        transaction = holder.transaction()
        await transaction.start()
        assert await holder.fetchval("SELECT pg_try_advisory_xact_lock($1)", SEALER_LOCK_KEY)
        sealing = _greenledger(bouncer, "verify", "--seal")
        try:
            # It waits on the lock (PostgreSQL shows the request, not granted) ...
            await asyncio.to_thread(
                wait_until, _waiting_for_advisory_lock, "the CLI's sealer waiting for the lock"
            )
            assert sealing.poll() is None
        finally:
            await transaction.commit()  # ... and goes on once it is released.
        output, _ = await asyncio.to_thread(sealing.communicate, timeout=120)
    finally:
        await holder.close()
    assert sealing.returncode == 0, output
    assert "3 entries, sealed through 3, 0 waiting for the sealer" in output, output
    assert await _advisory_locks() == 0


def _waiting_for_advisory_lock() -> bool:
    return asyncio.run(_waiting()) > 0


async def _waiting() -> int:
    connection = await asyncpg.connect(
        host="127.0.0.1", port=PG_PORT, user="postgres", database=_PG_DATABASE
    )
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return count
    finally:
        await connection.close()
