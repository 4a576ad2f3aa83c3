"""Boards count earned points: `earned` facts back-filled from the ledger's entries.

The household and building boards counted every point issued to a household, adjustments and
paper-book carry-overs included. From now on they count points earned (gradings, drop-offs,
weigh-ins, shifts) less the reversals of earned entries, and the ledger writes an `earned`
fact for exactly those (store/ledger.py). The old `points` facts stay in `board_fact` (facts
are appended, never rewritten; their sequence numbers stay gap-free) but count on no board.

Here every existing entry that counts gets its `earned` fact, on the local day (Asia/Shanghai,
UTC+8 without daylight saving) of its entry, in entry order; the sealer numbers them after the
facts already there and the projector applies them into the earned boards' own keys
(docs/decisions/2026-12-06-earned-boards.md). No Redis step is needed; `greenledger
rebuild-projections` afterwards also drops the retired boards' keys.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "earned board facts back-filled from entries (boards count earned points only)"

EARNED = "'dropoff', 'inspection', 'shift', 'weighin'"
# The payload is the JSON the ledger writes; its braces are arguments, as `raw` reads braces
# in the text as placeholders.
BACKFILL = (
    "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) "
    "SELECT e.community_id, 'earned', "
    "CAST({} AS TEXT) || '\"account\": ' || CAST(CASE WHEN c.kind = 'household' THEN e.credit_account_id "
    "ELSE e.debit_account_id END AS TEXT) || ', \"delta\": ' || "
    "CAST(CASE WHEN c.kind = 'household' THEN e.amount_points ELSE -e.amount_points END AS TEXT)"
    " || CAST({} AS TEXT), LOCAL_DAY, e.created_at "
    "FROM entry e JOIN account d ON d.id = e.debit_account_id "
    "JOIN account c ON c.id = e.credit_account_id "
    "LEFT JOIN entry o ON o.id = e.reverses_entry_id "
    "WHERE ((d.kind = 'issuance' AND c.kind = 'household') "
    "OR (d.kind = 'household' AND c.kind = 'issuance')) "
    f"AND (e.kind IN ({EARNED}) OR (e.kind = 'reversal' AND o.kind IN ({EARNED}))) "
    "ORDER BY e.id"
)
POSTGRES_DAY = "CAST(e.created_at AT TIME ZONE 'Asia/Shanghai' AS DATE)"
SQLITE_DAY = "date(e.created_at, '+8 hours')"


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def backfill() -> None:
    postgres = isinstance(engine_finder(), PostgresEngine)
    day = POSTGRES_DAY if postgres else SQLITE_DAY
    await RawTable.raw(BACKFILL.replace("LOCAL_DAY", day), "{", "}")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_raw(backfill)
    return manager
