"""Board labels in the projection (issue 16): an edited label writes a board fact.

The households and volunteers boards read their labels from Redis with their scores; the
projector writes them there, read from the database, for every household and volunteer a batch
of facts names (ledger/services/projection.py). An edit of what a label is made of (a
household's building, unit, room, name or kind; a volunteer's name) must reach Redis too,
whoever makes it (piccolo-admin, a script, psql): a trigger writes a `label` fact in the
edit's own transaction, and the projector reads the label again when it reaches that fact
(docs/decisions/2026-12-06-board-labels-in-the-projection.md). No table changes.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T10:00:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "board labels: an edited household or volunteer label writes a label fact"

POSTGRES = [
    """
    CREATE FUNCTION household_label_fact() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO board_fact (community_id, kind, payload, local_day, created_at)
        SELECT c.community, 'label', json_build_object('household', NEW.id)::text,
               (now() AT TIME ZONE 'Asia/Shanghai')::date, now()
        FROM compound c WHERE c.id = NEW.compound;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER household_label_fact
    AFTER UPDATE OF building, unit, room, name, kind ON household FOR EACH ROW
    WHEN (OLD.building IS DISTINCT FROM NEW.building OR OLD.unit IS DISTINCT FROM NEW.unit
          OR OLD.room IS DISTINCT FROM NEW.room OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION household_label_fact()
    """,
    """
    CREATE FUNCTION volunteer_label_fact() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO board_fact (community_id, kind, payload, local_day, created_at)
        VALUES (NEW.community, 'label', json_build_object('volunteer', NEW.id)::text,
                (now() AT TIME ZONE 'Asia/Shanghai')::date, now());
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER volunteer_label_fact AFTER UPDATE OF name ON volunteer FOR EACH ROW"
    " WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION volunteer_label_fact()",
]

# No braces in the SQL: Piccolo's raw() reads them as placeholders. Timestamps as Piccolo
# writes them on SQLite (ISO 8601, UTC); the local day is UTC+8.
SQLITE = [
    """
    CREATE TRIGGER household_label_fact
    AFTER UPDATE OF building, unit, room, name, kind ON household
    WHEN OLD.building IS NOT NEW.building OR OLD.unit IS NOT NEW.unit
      OR OLD.room IS NOT NEW.room OR OLD.name IS NOT NEW.name OR OLD.kind IS NOT NEW.kind
    BEGIN
        INSERT INTO board_fact (community_id, kind, payload, created_at, local_day)
        SELECT community, 'label', json_object('household', NEW.id),
               strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), date('now', '+8 hours')
        FROM compound WHERE id = NEW.compound;
    END
    """,
    """
    CREATE TRIGGER volunteer_label_fact AFTER UPDATE OF name ON volunteer
    WHEN OLD.name IS NOT NEW.name
    BEGIN
        INSERT INTO board_fact (community_id, kind, payload, created_at, local_day)
        VALUES (NEW.community, 'label', json_object('volunteer', NEW.id),
                strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), date('now', '+8 hours'));
    END
    """,
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()
        for statement in POSTGRES if isinstance(engine, PostgresEngine) else SQLITE:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
