"""One account per mobile number; household_member: one row per (household, person), and every resident made before issue 15
becomes a member (not a helper) of the household their login names."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-06T07:15:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "app_user.phone unique; household_member unique per (household, user); residents back-filled"


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def guard_and_backfill() -> None:
    await RawTable.raw(
        'CREATE UNIQUE INDEX household_member_once ON household_member (household, "user")'
    )
    # SQLite cannot add a UNIQUE column, so the number's uniqueness is an index (NULLs: many).
    await RawTable.raw("CREATE UNIQUE INDEX app_user_phone_once ON app_user (phone)")
    await RawTable.raw(
        'INSERT INTO household_member (household, "user", helper, created_at) '
        "SELECT household, id, false, created_at FROM app_user "
        "WHERE household IS NOT NULL ORDER BY id"
    )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_raw(guard_and_backfill)
    return manager
