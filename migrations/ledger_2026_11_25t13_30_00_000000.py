"""The balance read's expiry summary from the index alone.

`lot_account_open` (account, expiry, id; open lots only) already finds an account's open lots,
but the summary also needs each lot's remaining points, so every open lot cost a heap fetch:
~330 per household after 10^7 history entries (docs/BENCHMARKS.md, growth). The same index
now carries `remaining_points` (PostgreSQL: INCLUDE; SQLite: a last key column), so the
summary is an index-only scan and lot consumption still walks it in (expiry, id) order. It
replaces the old index rather than adding one, so a credit maintains no more indexes than
before.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-25T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lot_account_open covers remaining_points (index-only expiry summary)"

POSTGRES = [
    "DROP INDEX lot_account_open",
    "CREATE INDEX lot_account_open ON lot (account_id, expires_on, id)"
    " INCLUDE (remaining_points) WHERE remaining_points > 0",
]
SQLITE = [
    "DROP INDEX lot_account_open",
    "CREATE INDEX lot_account_open ON lot (account_id, expires_on, id, remaining_points)"
    " WHERE remaining_points > 0",
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()
        for statement in POSTGRES if isinstance(engine, PostgresEngine) else SQLITE:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
