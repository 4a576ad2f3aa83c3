"""Inspector rotation (issue 19, 2(a)): the `inspector_assignment` table and its guards.

The table as Piccolo makes it (so that `piccolo migrations new --auto` sees it made), then the
guards Piccolo cannot express, whatever the application does: one row per (inspector, week,
compound); an inspector and a compound on every row; a week named by its Monday. PostgreSQL
and SQLite forms with the same effect (SQLite cannot add a CHECK to a table, so triggers there).
Piccolo runs a migration's raw SQL before its new tables; the guards are on the new table, so
`TableThenGuards` runs them after it, in the migration's transaction.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import BigSerial, Date, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T10:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "inspector rotation: inspector_assignment, one row per inspector, week, compound"

COMMON = [
    "CREATE UNIQUE INDEX inspector_assignment_once"
    " ON inspector_assignment (inspector, week, compound)",
    # The plan page reads a community's compounds week by week.
    "CREATE INDEX inspector_assignment_week ON inspector_assignment (week, compound)",
]

POSTGRES = [
    "ALTER TABLE inspector_assignment ALTER COLUMN inspector SET NOT NULL",
    "ALTER TABLE inspector_assignment ALTER COLUMN compound SET NOT NULL",
    "ALTER TABLE inspector_assignment ADD CONSTRAINT inspector_assignment_monday"
    " CHECK (EXTRACT(ISODOW FROM week) = 1)",
]

SQLITE = [
    f"""
    CREATE TRIGGER inspector_assignment_valid_{op.lower()} BEFORE {op} ON inspector_assignment
    WHEN NEW.inspector IS NULL OR NEW.compound IS NULL OR strftime('%w', NEW.week) IS NOT '1'
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: inspector_assignment_monday'); END
    """
    for op in ("INSERT", "UPDATE")
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


class AppUser(Table, tablename="app_user", schema=None):
    id = BigSerial(null=False, primary_key=True, unique=False, index=False)


class Compound(Table, tablename="compound", schema=None):
    id = BigSerial(null=False, primary_key=True, unique=False, index=False)


class TableThenGuards(MigrationManager):
    """Runs the guards after the migration's new table (Piccolo's last step in the
    transaction is dropping constraints; the guards follow it)."""

    async def _run_drop_constraints(self, backwards: bool = False) -> None:
        await super()._run_drop_constraints(backwards=backwards)
        if backwards or self.preview:
            return
        engine = engine_finder()
        statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in statements + COMMON:
            await RawTable.raw(statement)


def _column(name: str, column_class: type, **params: object) -> dict[str, object]:
    return {
        "table_class_name": "InspectorAssignment",
        "tablename": "inspector_assignment",
        "column_name": name,
        "db_column_name": name,
        "column_class_name": column_class.__name__,
        "column_class": column_class,
        "params": {
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
            **params,
        },
        "schema": None,
    }


def _foreign_key(name: str, references: type[Table], index: bool) -> dict[str, object]:
    return _column(
        name,
        ForeignKey,
        references=references,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
        index=index,
    )


COLUMNS = [
    _column("id", BigSerial, primary_key=True),
    _foreign_key("inspector", AppUser, index=True),
    _foreign_key("compound", Compound, index=False),
    _column("week", Date, default=DateNow()),
    _column("assigned_by", Varchar, length=64, default=""),
    _column("assigned_at", Timestamptz, default=TimestamptzNow()),
]


async def forwards() -> MigrationManager:
    manager = TableThenGuards(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_table(
        class_name="InspectorAssignment",
        tablename="inspector_assignment",
        schema=None,
        columns=None,
    )
    for column in COLUMNS:
        manager.add_column(**column)  # type: ignore[arg-type]
    return manager
