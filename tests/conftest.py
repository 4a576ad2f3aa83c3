"""Test set-up for both engines.

`GREENLEDGER_TEST_DB=sqlite` (default) or `postgres` picks the engine for the whole run; the
Makefile runs the integration and API tests once on each. With GREENLEDGER_TEST_PGBOUNCER=1 the
PostgreSQL pass talks to the test database through a PgBouncer in transaction mode that this
file starts on a private port (the Makefile does so for the API tests marked `pgbouncer`, after
running all of tests/api on PostgreSQL directly). PostgreSQL and Redis tests
skip with a reason when the server is unreachable, unless GREENLEDGER_REQUIRE_SERVICES=1 (CI),
where an unreachable server fails the run instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ENGINE = os.environ.get("GREENLEDGER_TEST_DB", "sqlite")
REQUIRE_SERVICES = os.environ.get("GREENLEDGER_REQUIRE_SERVICES") == "1"
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_URL = os.environ.get("GREENLEDGER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_WORK = Path(tempfile.mkdtemp(prefix="greenledger-test-"))
_PG_DATABASE = f"greenledger_test_{uuid.uuid4().hex[:10]}"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


PG_UP = reachable(PG_HOST, PG_PORT)
REDIS_UP = reachable("127.0.0.1", 6379)

PGBOUNCER = ENGINE == "postgres" and os.environ.get("GREENLEDGER_TEST_PGBOUNCER") == "1"
_bouncer = None

if ENGINE == "postgres":
    if not PG_UP:
        raise pytest.UsageError(
            f"GREENLEDGER_TEST_DB=postgres but nothing listens on {PG_HOST}:{PG_PORT}"
        )
    DATABASE_URL = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{_PG_DATABASE}"
    if PGBOUNCER:
        from tests.past_one_box import PGBOUNCER as _PGBOUNCER_BINARY
        from tests.past_one_box import PgBouncerProcess

        if not Path(_PGBOUNCER_BINARY).exists():
            raise pytest.UsageError(
                f"GREENLEDGER_TEST_PGBOUNCER=1 but {_PGBOUNCER_BINARY} is not installed "
                "(apt-get install pgbouncer; .ci/run does)"
            )
        _bouncer = PgBouncerProcess(PG_PORT)
        _bouncer.start()
        DATABASE_URL = _bouncer.url(_PG_DATABASE)
        # asyncpg's statement cache off (ledger/store/engine.py), before piccolo_conf reads it.
        os.environ["GREENLEDGER_PGBOUNCER"] = "1"
else:
    DATABASE_URL = str(_WORK / "template.sqlite")

os.environ["GREENLEDGER_DATABASE_URL"] = DATABASE_URL
os.environ["PICCOLO_CONF"] = "ledger.store.piccolo_conf"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user="postgres", database="postgres"
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


if ENGINE == "postgres":
    # PostgresEngine connects when piccolo_conf is imported: the database must exist first.
    asyncio.run(_pg_admin(f'CREATE DATABASE "{_PG_DATABASE}"'))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _bouncer is not None:
        _bouncer.stop()
    if ENGINE == "postgres":
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{_PG_DATABASE}" WITH (FORCE)'))
    shutil.rmtree(_WORK, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres") and ENGINE != "postgres":
            item.add_marker(
                pytest.mark.skip(
                    reason="PostgreSQL-only; runs in the GREENLEDGER_TEST_DB=postgres pass"
                )
            )
        if item.get_closest_marker("redis") and not REDIS_UP:
            if REQUIRE_SERVICES:
                raise pytest.UsageError(
                    "Redis is required (GREENLEDGER_REQUIRE_SERVICES=1) but 127.0.0.1:6379 is down"
                )
            item.add_marker(pytest.mark.skip(reason="no Redis on 127.0.0.1:6379"))


from piccolo.apps.migrations.commands.forwards import run_forwards  # noqa: E402
from piccolo.engine.sqlite import SQLiteEngine  # noqa: E402

from api.settings import Settings  # noqa: E402
from ledger.domain.access import SYSTEM  # noqa: E402
from ledger.services.container import Services  # noqa: E402
from ledger.store.engine import current_engine  # noqa: E402
from ledger.store.tables import TABLES  # noqa: E402
from tests.factories import TEST_SECRET_KEY, FrozenClock  # noqa: E402


@pytest.fixture(scope="session")
async def migrated() -> None:
    result = await run_forwards("all")
    assert result.success, result.message


@pytest.fixture
async def fresh_db(migrated: None) -> AsyncIterator[None]:
    """An empty, migrated database for each test.

    SQLite: a copy of the migrated template file (entries cannot be deleted, by design).
    PostgreSQL: TRUNCATE, which the append-only row triggers do not cover (EMPTY_TABLES).
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        path = _WORK / f"test-{uuid.uuid4().hex[:10]}.sqlite"
        shutil.copyfile(DATABASE_URL, path)
        engine.path = str(path)
        yield
        engine.path = DATABASE_URL
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)
    else:
        await engine.run_ddl(EMPTY_TABLES)
        yield


def _empty_tables() -> str:
    """One statement that leaves every table as `TRUNCATE <all> RESTART IDENTITY CASCADE` would,
    truncating only the tables that have rows: a test writes a few of the 38, and truncating all
    of them (new files for each table and index, fsync'd) cost 0.2-0.7 s a test, the empty
    check ~5 ms. Sequences owned by the tables that were used and rolled back are reset too."""
    names = ", ".join(f"'{table._meta.tablename}'" for table in TABLES)
    return f"""DO $empty$
DECLARE
  name text;
  used text[] := '{{}}';
  has_rows boolean;
BEGIN
  FOREACH name IN ARRAY ARRAY[{names}] LOOP
    EXECUTE format('SELECT EXISTS (SELECT FROM %I)', name) INTO has_rows;
    IF has_rows THEN used := used || format('%I', name); END IF;
  END LOOP;
  IF cardinality(used) > 0 THEN
    EXECUTE 'TRUNCATE ' || array_to_string(used, ', ') || ' RESTART IDENTITY CASCADE';
  END IF;
  PERFORM setval(format('%I.%I', q.schemaname, q.sequencename), q.start_value, false)
     FROM pg_sequences q
     JOIN pg_class s ON s.relname = q.sequencename
      AND s.relnamespace = q.schemaname::regnamespace
     JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
     JOIN pg_class t ON t.oid = d.refobjid
    WHERE t.relname = ANY (ARRAY[{names}]) AND q.last_value IS NOT NULL;
END
$empty$"""


EMPTY_TABLES = _empty_tables()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url=DATABASE_URL,
        secret_key=TEST_SECRET_KEY,
        base_url="http://testserver",
        run_sealer=False,
        rate_limit_per_minute=0,  # on in tests/api/test_limits_api.py, which is about it
        pgbouncer=PGBOUNCER,
    )


@pytest.fixture
async def services(
    fresh_db: None, settings: Settings, clock: FrozenClock
) -> AsyncIterator[Services]:
    built = Services.build(settings.keyring(), settings.base_url, clock=clock)
    await built.db.start()
    yield built
    await built.db.close()


@pytest.fixture
def system() -> object:
    return SYSTEM


@pytest.fixture
async def redis() -> AsyncIterator[object]:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[object]:
    """A private three-master Redis Cluster for the session (tests/past_one_box.py)."""
    from tests.past_one_box import RedisClusterProcesses, need

    need("redis-server", "redis-cli")
    cluster = RedisClusterProcesses()
    try:
        seconds = cluster.start()
        print(f"redis cluster on {cluster.ports} up in {seconds:.1f} s")
        yield cluster
    finally:
        cluster.stop()
