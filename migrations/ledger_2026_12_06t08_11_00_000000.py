"""One unit per address or name in a compound: the unique index `household_address` now also
covers `name`. A household's name is "" and a shop's or office's address columns are "", so
(compound, building, unit, room, name) is unique exactly when households' addresses and shops'
and offices' names are, each within their compound. Hand-written: composite index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-06T08:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "household_address unique over (compound, building, unit, room, name)"

STATEMENTS = [
    "DROP INDEX household_address",
    "CREATE UNIQUE INDEX household_address ON household (compound, building, unit, room, name)",
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
