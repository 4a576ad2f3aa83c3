"""entry_reversal is append-only like the entries it guards; existing reversals are copied."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-25T11:07:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "entry_reversal append-only; backfilled from entry"

COMMON = [
    "INSERT INTO entry_reversal (reverses_entry_id, entry_id) "
    "SELECT reverses_entry_id, id FROM entry WHERE reverses_entry_id IS NOT NULL",
]
POSTGRES = [
    "CREATE TRIGGER entry_reversal_append_only BEFORE UPDATE OR DELETE ON entry_reversal"
    " FOR EACH ROW EXECUTE FUNCTION refuse_change()",
]
SQLITE = [
    """
    CREATE TRIGGER entry_reversal_no_update BEFORE UPDATE ON entry_reversal
    BEGIN SELECT RAISE(ABORT, 'entry_reversal is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER entry_reversal_no_delete BEFORE DELETE ON entry_reversal
    BEGIN SELECT RAISE(ABORT, 'entry_reversal is append-only: DELETE refused'); END
    """,
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()
        statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in COMMON + statements:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
