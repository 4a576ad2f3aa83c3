"""Inspector rotation (issue 19, 2(a)): the `inspector_assignment` table and its guards.

Hand-written, as the guards migration is: one row per (inspector, week, compound), and a week
is named by its Monday (ISO weekday 1), whatever the application does. PostgreSQL and SQLite
forms with the same effect (SQLite cannot add a CHECK to a table after the fact, so the
Monday rule is a trigger there; here the table is new, so it is a CHECK on both).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T10:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "inspector rotation: inspector_assignment, one row per inspector, week, compound"

COMMON = [
    "CREATE INDEX inspector_assignment_inspector ON inspector_assignment (inspector)",
    "CREATE UNIQUE INDEX inspector_assignment_once"
    " ON inspector_assignment (inspector, week, compound)",
    # The plan page reads a community's compounds week by week.
    "CREATE INDEX inspector_assignment_week ON inspector_assignment (week, compound)",
]

POSTGRES = [
    """
    CREATE TABLE inspector_assignment (
        id BIGSERIAL PRIMARY KEY NOT NULL,
        inspector BIGINT NOT NULL REFERENCES app_user (id)
            ON DELETE RESTRICT ON UPDATE CASCADE,
        compound BIGINT NOT NULL REFERENCES compound (id) ON DELETE RESTRICT ON UPDATE CASCADE,
        week DATE NOT NULL CHECK (EXTRACT(ISODOW FROM week) = 1),
        assigned_by VARCHAR(64) NOT NULL DEFAULT '',
        assigned_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
]

SQLITE = [
    """
    CREATE TABLE inspector_assignment (
        id INTEGER PRIMARY KEY NOT NULL,
        inspector INTEGER NOT NULL REFERENCES app_user (id)
            ON DELETE RESTRICT ON UPDATE CASCADE,
        compound INTEGER NOT NULL REFERENCES compound (id)
            ON DELETE RESTRICT ON UPDATE CASCADE,
        week DATE NOT NULL CHECK (strftime('%w', week) = '1'),
        assigned_by VARCHAR(64) NOT NULL DEFAULT '',
        assigned_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()
        statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in statements + COMMON:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
