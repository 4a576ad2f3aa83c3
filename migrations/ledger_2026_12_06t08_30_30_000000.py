"""Notices: the sequencer's partial index of unnumbered facts, a household's last warning, one
read mark per notice and reader, and the webhook's due deliveries."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-06T08:30:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "notice indexes: unsequenced facts, read marks once, deliveries due"


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def indexes() -> None:
    await RawTable.raw("CREATE INDEX notice_fact_unsequenced ON notice_fact (id) WHERE seq IS NULL")
    await RawTable.raw(
        "CREATE INDEX notice_fact_household ON notice_fact (household_id, kind, created_at)"
    )
    await RawTable.raw("CREATE UNIQUE INDEX notice_read_once ON notice_read (notice_id, user_id)")
    await RawTable.raw(
        "CREATE INDEX notice_delivery_due ON notice_delivery (next_attempt_at) "
        "WHERE delivered_at IS NULL"
    )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_raw(indexes)
    return manager
