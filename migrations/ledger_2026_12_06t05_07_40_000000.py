"""Every existing household card, collection point and duty post gets a short code.

Nine random digits and a Damm check digit (ledger/domain/short_codes.py), drawn with
`secrets` and unique across the three kinds (the table is new, so uniqueness is checked here
in memory; the UNIQUE index checks it again). Each code names the row's current card serial:
a card re-issued later gets a new code and this one is refused like its old token.
"""

import secrets

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from ledger.domain.short_codes import RANDOM_SPACE, code_from

ID = "2026-12-06T05:07:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "short codes back-filled for existing households, points and posts"

KINDS = (("household", "household"), ("collection_point", "point"), ("duty_post", "post"))
BATCH = 500


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def backfill() -> None:
    drawn: set[str] = set()
    for table, kind in KINDS:
        rows = await RawTable.raw(f"SELECT id, card_serial FROM {table} ORDER BY id")  # noqa: S608
        values = [(_draw(drawn), kind, row["id"], row["card_serial"]) for row in rows]
        for start in range(0, len(values), BATCH):
            batch = values[start : start + BATCH]
            placeholders = ", ".join("({}, {}, {}, {})" for _ in batch)
            await RawTable.raw(
                "INSERT INTO short_code (code, kind, subject_id, card_serial) "
                f"VALUES {placeholders}",
                *[value for row in batch for value in row],
            )


def _draw(drawn: set[str]) -> str:
    while True:
        code = code_from(secrets.randbelow(RANDOM_SPACE))
        if code not in drawn:
            drawn.add(code)
            return code


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_raw(backfill)
    return manager
