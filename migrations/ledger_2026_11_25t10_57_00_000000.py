"""The audit log is read by actor and time."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T10:57:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index the idempotency record for the audit list"


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        await RawTable.raw(
            "CREATE INDEX idempotency_record_audit ON idempotency_record (created_at, event_id)"
        )

    manager.add_raw(apply)
    return manager
