"""The drop-off queue's indexes (issue 15, item 5).

- `inspection_dropoff_stream`: one grade per drop-off and waste stream. The services refuse a
  second one (409 `already_graded`) under the household's lock; the index is the guard behind
  them. Partial (card grades have no drop-off), which both engines support.
- `dropoff_point_created`: a point's queue is its drop-offs of the last 30 minutes.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-06T08:20:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (dropoff_id, stream) of inspections; dropoff (point, created_at)"

STATEMENTS = [
    "CREATE UNIQUE INDEX inspection_dropoff_stream ON inspection (dropoff_id, stream)"
    " WHERE dropoff_id IS NOT NULL",
    "CREATE INDEX dropoff_point_created ON dropoff (point, created_at)",
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
