"""lot_total: one row per account and expiry date, what is left of those lots.

The balance read summed an account's open lots by expiry date, and a household that earns every
day has hundreds of them, so the read grew with history (docs/BENCHMARKS.md, growth: 0.23 ms
at 10^4 entries, 0.41 ms at 10^7). The ledger now keeps the sum in the same transaction as every
lot change (store/lots.py) and the read takes a few rows from here
(docs/decisions/2026-12-04-lot-totals.md). One unique index: it is the upsert's conflict target
and the read's path; `points` is in no index, so its updates stay HOT on PostgreSQL.

Back-filled from `lot` in the migration's transaction (groups with points left; a group at zero
needs no row). `verify` (lot_totals_match_lots) proves it from then on.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-04T06:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lot_total unique on (account_id, expires_on), back-filled from lot"

COMMON = [
    "CREATE UNIQUE INDEX lot_total_account_expiry ON lot_total (account_id, expires_on)",
    "INSERT INTO lot_total (account_id, expires_on, points)"
    " SELECT account_id, expires_on, SUM(remaining_points) FROM lot"
    " WHERE remaining_points > 0 GROUP BY account_id, expires_on",
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        for statement in COMMON:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager
