"""Fair inspections (issue 19, 2(b)): the re-inspection sample, with its guards.

One row per drawn grading: an inspection is drawn at most once (a unique index), a decision
names its grade, time and coordinator together or not at all (a CHECK; a trigger on SQLite),
and a decided row never changes (a trigger on both engines).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T10:00:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "re-inspection sample: one draw per inspection, decided once"

GRADES = "('good', 'fair', 'poor')"

POSTGRES = [
    f"""
    CREATE TABLE reinspection (
        id BIGSERIAL PRIMARY KEY,
        community_id BIGINT NOT NULL,
        inspection_id BIGINT NOT NULL REFERENCES inspection (id) ON DELETE RESTRICT,
        inspector_id BIGINT NOT NULL,
        coordinator_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
        day DATE NOT NULL,
        original_grade VARCHAR(8) NOT NULL,
        photo_ref VARCHAR(200) NOT NULL,
        offered_at TIMESTAMPTZ NOT NULL,
        regraded_grade VARCHAR(8) DEFAULT NULL,
        decided_at TIMESTAMPTZ DEFAULT NULL,
        decided_by BIGINT DEFAULT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
        CONSTRAINT reinspection_decided_whole CHECK (
            (regraded_grade IS NULL) = (decided_at IS NULL)
            AND (decided_at IS NULL) = (decided_by IS NULL)
        ),
        CONSTRAINT reinspection_grade CHECK (regraded_grade IS NULL OR regraded_grade IN {GRADES})
    )
    """,
    """
    CREATE FUNCTION reinspection_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.decided_at IS NOT NULL THEN
            RAISE EXCEPTION 'reinspection % is decided: % refused', OLD.id, TG_OP
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER reinspection_decided_once BEFORE UPDATE OR DELETE ON reinspection"
    " FOR EACH ROW EXECUTE FUNCTION reinspection_decided_once()",
]

SQLITE = [
    """
    CREATE TABLE reinspection (
        id INTEGER PRIMARY KEY NOT NULL,
        community_id INTEGER NOT NULL,
        inspection_id INTEGER NOT NULL REFERENCES inspection (id) ON DELETE RESTRICT,
        inspector_id INTEGER NOT NULL,
        coordinator_id INTEGER NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
        day DATE NOT NULL,
        original_grade VARCHAR(8) NOT NULL,
        photo_ref VARCHAR(200) NOT NULL,
        offered_at TIMESTAMPTZ NOT NULL,
        regraded_grade VARCHAR(8) DEFAULT NULL,
        decided_at TIMESTAMPTZ DEFAULT NULL,
        decided_by INTEGER DEFAULT NULL REFERENCES app_user (id) ON DELETE RESTRICT
    )
    """,
    f"""
    CREATE TRIGGER reinspection_decision_valid BEFORE UPDATE ON reinspection
    WHEN NOT ((NEW.regraded_grade IS NULL) = (NEW.decided_at IS NULL)
              AND (NEW.decided_at IS NULL) = (NEW.decided_by IS NULL))
         OR (NEW.regraded_grade IS NOT NULL AND NEW.regraded_grade NOT IN {GRADES})
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: reinspection decision'); END
    """,
    """
    CREATE TRIGGER reinspection_decided_once BEFORE UPDATE ON reinspection
    WHEN OLD.decided_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'reinspection is decided: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER reinspection_no_delete_decided BEFORE DELETE ON reinspection
    WHEN OLD.decided_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'reinspection is decided: DELETE refused'); END
    """,
]

COMMON = [
    "CREATE UNIQUE INDEX reinspection_once ON reinspection (inspection_id)",
    "CREATE INDEX reinspection_coordinator_day ON reinspection (coordinator_id, day)",
    "CREATE INDEX reinspection_community_decided ON reinspection (community_id, decided_at)",
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
