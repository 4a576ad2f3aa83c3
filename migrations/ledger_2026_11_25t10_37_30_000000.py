"""The sequencer finds unsequenced facts through a small partial index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T10:37:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "index of board facts waiting for a sequence number"


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        await RawTable.raw("CREATE INDEX board_fact_unsequenced ON board_fact (id) WHERE seq IS NULL")

    manager.add_raw(apply)
    return manager
