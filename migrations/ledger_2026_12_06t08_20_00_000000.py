"""inspection.dropoff_id: a grade given from a collection point's queue names the resident's
drop-off it grades (issue 15, item 5); null for a card's grade."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T08:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inspection.dropoff_id (a grade from the point's queue)"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Inspection",
        tablename="inspection",
        column_name="dropoff_id",
        db_column_name="dropoff_id",
        column_class_name="BigInt",
        column_class=BigInt,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
