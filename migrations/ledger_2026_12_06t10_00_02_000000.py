"""The books (issue 19 part 1): rewards' unit costs with their history, reorder thresholds.

The two tables as Piccolo would write them (`piccolo migrations new ledger --auto`), then the
guards Piccolo cannot express, in a PostgreSQL and an SQLite form: reward_cost is append-only
and never negative; one reorder threshold per reward, never negative. Piccolo runs a
migration's raw SQL before its tables, so the guards run from `_run_add_columns` instead, after
the columns and inside the migration's transaction.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import BigInt, BigSerial, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T10:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "the books: reward_cost (append-only) and reward_reorder"


class Reward(Table, tablename="reward", schema=None):
    id = BigSerial(null=False, primary_key=True, unique=False, index=False)


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


class BooksMigration(MigrationManager):
    """Adds the guards once the tables and their columns exist."""

    async def _run_add_columns(self, backwards: bool = False) -> None:
        await super()._run_add_columns(backwards=backwards)
        if backwards or self.preview:
            return
        engine = engine_finder()
        statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in COMMON + statements:
            await RawTable.raw(statement)


def _column(table: str, name: str, column_class: type, **params: object) -> dict[str, object]:
    """One column as Piccolo's auto migration names it."""
    return {
        "table_class_name": table,
        "tablename": "reward_cost" if table == "RewardCost" else "reward_reorder",
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


def _columns(table: str, amount: str, moments: list[str], *, reward_index: bool) -> list:
    """A table's columns in order: id, reward, the amount, its moments and who set it."""
    reward = {
        "references": Reward,
        "on_delete": OnDelete.restrict,
        "on_update": OnUpdate.cascade,
        "target_column": None,
        "null": True,
        "index": reward_index,
    }
    at = [_column(table, name, Timestamptz, default=TimestamptzNow()) for name in moments]
    return [
        _column(table, "id", BigSerial, primary_key=True),
        _column(table, "reward", ForeignKey, **reward),
        _column(table, amount, BigInt, default=0),
        *at[:-1],
        _column(table, "set_by", Varchar, length=64, default=""),
        at[-1],
    ]


async def forwards() -> MigrationManager:
    manager = BooksMigration(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_table(class_name="RewardCost", tablename="reward_cost", schema=None, columns=None)
    manager.add_table(
        class_name="RewardReorder", tablename="reward_reorder", schema=None, columns=None
    )
    for column in [
        *_columns("RewardCost", "cost_fen", ["effective_from", "set_at"], reward_index=True),
        *_columns("RewardReorder", "threshold", ["set_at"], reward_index=False),
    ]:
        manager.add_column(**column)
    return manager
