"""Issue 15: a join code for every household made before join codes existed."""

import secrets

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-06T08:40:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "a 6-digit join code drawn for every existing household"


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def draw_join_codes() -> None:
    rows = await RawTable.raw("SELECT id FROM household WHERE join_code = '' ORDER BY id")
    for row in rows:
        code = f"{secrets.randbelow(10**6):06d}"
        await RawTable.raw("UPDATE household SET join_code = {} WHERE id = {}", code, row["id"])


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_raw(draw_join_codes)
    return manager
