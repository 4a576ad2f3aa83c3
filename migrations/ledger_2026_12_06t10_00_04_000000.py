"""Receipts anyone can check (issue 19 part 3): the published day heads of the transparency log.

Hand-written like the guards migration: the table as it stands today (frozen here), made by
Piccolo for the engine in use, then its guard in a PostgreSQL and an SQLite form: a published
head is never updated or deleted, and the day is its primary key, so a second head for a day
(another root) cannot be inserted either. An index on entry_seal.sealed_at lets the publisher
read one local day's seals (docs/decisions/2026-12-06-transparency-log.md).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import BigInt, Date, Timestamptz, Varchar
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T10:00:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "transparency log: chain_head (append-only), entry_seal by sealed_at"


class ChainHead(Table, tablename="chain_head"):
    day = Date(primary_key=True)
    tree_size = BigInt()
    root = Varchar(length=64)
    key_id = Varchar(length=32)
    signature = Varchar(length=128)
    published_at = Timestamptz()


COMMON = [
    "CREATE INDEX entry_seal_sealed_at ON entry_seal (sealed_at)",
]

POSTGRES = [
    # refuse_change() comes from the guards migration.
    "CREATE TRIGGER chain_head_append_only BEFORE UPDATE OR DELETE ON chain_head"
    " FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    "ALTER TABLE chain_head ADD CONSTRAINT chain_head_valid"
    " CHECK (tree_size > 0 AND length(root) = 64 AND length(signature) = 128)",
]

SQLITE = [
    *(
        f"""
        CREATE TRIGGER chain_head_no_{op.lower()} BEFORE {op} ON chain_head
        BEGIN SELECT RAISE(ABORT, 'chain_head is append-only: {op} refused'); END
        """
        for op in ("UPDATE", "DELETE")
    ),
    """
    CREATE TRIGGER chain_head_valid BEFORE INSERT ON chain_head
    WHEN NEW.tree_size <= 0 OR length(NEW.root) <> 64 OR length(NEW.signature) <> 128
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: chain_head_valid'); END
    """,
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


class _TableThenGuards(MigrationManager):
    """Piccolo runs a manager's raw steps before it adds tables; the guards need the table, so
    they run after the manager's own steps. The table is added as Piccolo's own step (not in
    raw SQL), so that Piccolo's snapshot knows it and `migrations new --auto` writes nothing."""

    async def _run_drop_constraints(self, backwards: bool = False) -> None:
        # Piccolo's last step inside the migration's transaction: the guards are made with the
        # table or not at all, so a failed run leaves nothing and can run again (review19).
        await super()._run_drop_constraints(backwards=backwards)
        if not backwards and not self.preview:
            engine = engine_finder()
            statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
            for statement in COMMON + statements:
                await RawTable.raw(statement)


async def forwards() -> MigrationManager:
    manager = _TableThenGuards(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_table(class_name="ChainHead", tablename="chain_head", schema=None, columns=None)
    for column in ChainHead._meta.columns:
        manager.add_column(
            table_class_name="ChainHead",
            tablename="chain_head",
            column_name=column._meta.name,
            db_column_name=column._meta.db_column_name,
            column_class_name=type(column).__name__,
            column_class=type(column),
            params=dict(column._meta.params),
            schema=None,
        )
    return manager
