"""Photos are append-only, like the entries whose grades they are evidence for.

A photo is named by the SHA-256 of its bytes, so changing its bytes would make its ref lie, and
removing it would take evidence out from under an appeal. Same guards as `entry`.

Reading a photo asks which inspections name it (a resident may see the evidence of their own
household's grade): a partial index, so grades without a photo cost nothing extra.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-25T12:57:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "photo append-only; inspections indexed by photo_ref"

COMMON = [
    "CREATE INDEX inspection_photo_ref ON inspection (photo_ref) WHERE photo_ref <> ''",
]

POSTGRES = [
    "CREATE TRIGGER photo_append_only BEFORE UPDATE OR DELETE ON photo"
    " FOR EACH ROW EXECUTE FUNCTION refuse_change()",
]
SQLITE = [
    """
    CREATE TRIGGER photo_no_update BEFORE UPDATE ON photo
    BEGIN SELECT RAISE(ABORT, 'photo is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER photo_no_delete BEFORE DELETE ON photo
    BEGIN SELECT RAISE(ABORT, 'photo is append-only: DELETE refused'); END
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
