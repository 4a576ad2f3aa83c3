"""Issue 14: entry.captured_at, when the scan behind an entry was captured (null when no
capture time was sent, and for every entry before this). created_at stays the server's time.
The hash chain commits to it only when it is not null, so sealed entries keep their hashes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T04:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "entry.captured_at"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="ledger", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Entry",
        tablename="entry",
        column_name="captured_at",
        db_column_name="captured_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
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
