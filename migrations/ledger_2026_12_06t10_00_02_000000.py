"""The books (issue 19 part 1): rewards' unit costs with their history, reorder thresholds.

Hand-written like the guards migration: the two tables as they stand today (frozen here, so a
later change to ledger/store/tables.py does not rewrite this step), made by Piccolo for the
engine in use, then the guards Piccolo cannot express, in a PostgreSQL and an SQLite form:
reward_cost is append-only and never negative; one reorder threshold per reward, never negative.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import BigInt, BigSerial, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T10:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "the books: reward_cost (append-only) and reward_reorder"


class Reward(Table, tablename="reward"):
    id = BigSerial(primary_key=True)


class RewardCost(Table, tablename="reward_cost"):
    id = BigSerial(primary_key=True)
    reward = ForeignKey(Reward, on_delete=OnDelete.restrict, index=True)
    cost_fen = BigInt()
    effective_from = Timestamptz()
    set_by = Varchar(length=64)
    set_at = Timestamptz()


class RewardReorder(Table, tablename="reward_reorder"):
    id = BigSerial(primary_key=True)
    reward = ForeignKey(Reward, on_delete=OnDelete.restrict)
    threshold = BigInt()
    set_by = Varchar(length=64)
    set_at = Timestamptz()


COMMON = [
    # The cost in force at a moment: the newest row of the reward from on or before it.
    "CREATE INDEX reward_cost_reward_from ON reward_cost (reward, effective_from, id)",
    "CREATE UNIQUE INDEX reward_reorder_once ON reward_reorder (reward)",
]

POSTGRES = [
    # refuse_change() comes from the guards migration.
    "CREATE TRIGGER reward_cost_append_only BEFORE UPDATE OR DELETE ON reward_cost"
    " FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    "ALTER TABLE reward_cost ADD CONSTRAINT reward_cost_not_negative CHECK (cost_fen >= 0)",
    "ALTER TABLE reward_reorder ADD CONSTRAINT reward_reorder_not_negative CHECK (threshold >= 0)",
]

SQLITE = [
    *(
        f"""
        CREATE TRIGGER reward_cost_no_{op.lower()} BEFORE {op} ON reward_cost
        BEGIN SELECT RAISE(ABORT, 'reward_cost is append-only: {op} refused'); END
        """
        for op in ("UPDATE", "DELETE")
    ),
    """
    CREATE TRIGGER reward_cost_not_negative BEFORE INSERT ON reward_cost
    WHEN NEW.cost_fen < 0
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: reward_cost_not_negative'); END
    """,
    *(
        f"""
        CREATE TRIGGER reward_reorder_not_negative_{op.lower()} BEFORE {op} ON reward_reorder
        WHEN NEW.threshold < 0
        BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: reward_reorder_not_negative'); END
        """
        for op in ("INSERT", "UPDATE")
    ),
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()
        await RewardCost.create_table().run()
        await RewardReorder.create_table().run()
        statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in COMMON + statements:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
