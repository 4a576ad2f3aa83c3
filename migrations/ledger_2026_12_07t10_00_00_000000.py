"""A grading group's lock and the day's grades in one round trip (issue 16), PostgreSQL only.

`grading_lock` locks the group's accounts (households', then issuance stripes', each in id
order) and then, in a statement of its own, reads the households' grades of the days and takes
the group's new entry and inspection ids. A VOLATILE function's statements each read with a
fresh snapshot, so the grades are read after the lock was granted: a grade committed by the
transaction the lock waited for is seen (docs/decisions/2026-12-07-lock-and-grades-in-one-
round-trip.md). On SQLite a statement is a function call, not a round trip: nothing changes.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-07T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "grading_lock: a grading group's lock and the day's grades in one round trip"

# No braces in the SQL: Piccolo's raw() reads them as placeholders.
POSTGRES = [
    """
    CREATE FUNCTION grading_lock(
        p_accounts bigint[], p_households bigint[], p_days date[],
        p_entries integer, p_inspections integer
    ) RETURNS TABLE (
        locked_ids bigint[], locked_balances bigint[],
        day_households bigint[], day_dates date[], day_streams varchar[],
        day_scored boolean[], day_points bigint[],
        entry_ids bigint[], inspection_ids bigint[]
    ) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        ids bigint[];
        balances bigint[];
    BEGIN
        -- Households' accounts, then the issuance stripes, each in id order: PostgreSQL locks
        -- rows in the order it sorts them, the order a weigh-in or a redemption takes them.
        SELECT array_agg(l.id), array_agg(l.balance_points) INTO ids, balances
        FROM (SELECT a.id, a.balance_points FROM account a WHERE a.id = ANY(p_accounts)
              ORDER BY a.kind = 'issuance', a.id FOR UPDATE) l;
        -- A statement of its own, so a snapshot taken after the lock was granted.
        RETURN QUERY
        SELECT ids, balances, g.households, g.days, g.streams, g.scored, g.points,
               n.entries, n.inspections
        FROM (SELECT array_agg(i.household) AS households, array_agg(i.local_day) AS days,
                     array_agg(i.stream)::varchar[] AS streams, array_agg(i.scored) AS scored,
                     array_agg(i.points_awarded) AS points
              FROM inspection i
              WHERE i.household = ANY(p_households) AND i.local_day = ANY(p_days)) g,
             (SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('entry', 'id'))
                           FROM generate_series(1, p_entries)) AS entries,
                     ARRAY(SELECT nextval(pg_get_serial_sequence('inspection', 'id'))
                           FROM generate_series(1, p_inspections)) AS inspections) n;
    END $$
    """,
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        if isinstance(engine_finder(), PostgresEngine):
            for statement in POSTGRES:
                await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
