"""Indexes and uniqueness for earning; identical on both engines."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "earning indexes: rule versions, one drop-off per window, one open shift"

STATEMENTS = [
    "CREATE UNIQUE INDEX earning_rule_version ON earning_rule (community, version)",
    "CREATE INDEX inspection_household_day ON inspection (household, local_day)",
    "CREATE UNIQUE INDEX dropoff_once_per_window"
    " ON dropoff (household, local_day, window_start_minute)",
    "CREATE UNIQUE INDEX shift_one_open ON shift (volunteer) WHERE status = 'open'",
    "CREATE INDEX shift_volunteer_day ON shift (volunteer, local_day)",
    "CREATE INDEX shift_status ON shift (status, compound)",
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
