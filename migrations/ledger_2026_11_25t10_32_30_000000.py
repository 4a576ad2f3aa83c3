"""Guards and indexes for spending: stock and lots never below zero."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-25T10:32:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "spending guards: stock and lot remainders not negative; lot and redemption indexes"

COMMON = [
    "CREATE INDEX lot_account_open ON lot (account_id, expires_on, id) WHERE remaining_points > 0",
    "CREATE INDEX lot_expiring ON lot (expires_on) WHERE remaining_points > 0",
    "CREATE UNIQUE INDEX lot_entry ON lot (entry_id)",
    "CREATE INDEX redemption_household_month ON redemption (household, reward, local_month)",
]

POSTGRES = [
    "ALTER TABLE reward ADD CONSTRAINT reward_stock_not_negative CHECK (stock >= 0)",
    "ALTER TABLE lot ADD CONSTRAINT lot_remaining_in_range"
    " CHECK (remaining_points >= 0 AND remaining_points <= points)",
]

SQLITE = [
    """
    CREATE TRIGGER reward_stock_not_negative BEFORE UPDATE OF stock ON reward
    WHEN NEW.stock < 0
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: reward_stock_not_negative'); END
    """,
    """
    CREATE TRIGGER lot_remaining_in_range BEFORE UPDATE OF remaining_points ON lot
    WHEN NEW.remaining_points < 0 OR NEW.remaining_points > NEW.points
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: lot_remaining_in_range'); END
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
