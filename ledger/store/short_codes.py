"""The `short_code` table: typed codes for cards, points and posts, one table for all three."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ledger.store import sql
from ledger.store.tables import ShortCode

BATCH = 500
ROUNDS_MAX = 20  # a collision needs one in 10^9 odds per row; twenty empty rounds never happen

Subject = tuple[int, int]  # (id, card serial)
_TABLES = {"household": "household", "point": "collection_point", "post": "duty_post"}
# Per kind: the rows whose current card has no short code yet.
_MISSING = {
    kind: (
        f"SELECT t.id, t.card_serial FROM {table} t WHERE NOT EXISTS ("  # noqa: S608 (constant)
        "SELECT 1 FROM short_code s WHERE s.kind = $1 AND s.subject_id = t.id "
        "AND s.card_serial = t.card_serial) ORDER BY t.id"
    )
    for kind, table in _TABLES.items()
}


async def issue(
    kind: str, subjects: Sequence[Subject], draw: Callable[[], str]
) -> dict[Subject, str]:
    """A new code for each (id, card serial), inside the caller's transaction. A drawn code that
    is already taken is skipped by the insert (no error, so the transaction lives on) and drawn
    again."""
    issued: dict[Subject, str] = {}
    pending = list(subjects)
    stalled = 0  # rounds in a row that issued nothing: only these can run out
    while pending:
        batch, pending = pending[:BATCH], pending[BATCH:]
        inserted = await _insert(kind, batch, draw)
        issued |= inserted
        pending += [subject for subject in batch if subject not in inserted]
        stalled = 0 if inserted else stalled + 1
        if stalled == ROUNDS_MAX:
            raise AssertionError("short codes: no free code after many draws")
    return issued


async def _insert(kind: str, batch: list[Subject], draw: Callable[[], str]) -> dict[Subject, str]:
    codes: dict[str, Subject] = {}
    for subject in batch:
        code = draw()
        while code in codes:
            code = draw()
        codes[code] = subject
    rows = await (
        ShortCode.insert(
            *[
                ShortCode(code=code, kind=kind, subject_id=subject_id, card_serial=serial)
                for code, (subject_id, serial) in codes.items()
            ]
        )
        .on_conflict(action="DO NOTHING")
        .returning(ShortCode.code)
    )
    return {codes[row["code"]]: row["code"] for row in rows}


async def missing(kind: str) -> list[Subject]:
    """Rows of a kind whose current card has no short code yet (after a bulk insert)."""
    rows = await sql.fetch(_MISSING[kind], kind)
    return [(int(row["id"]), int(row["card_serial"])) for row in rows]


async def current(kind: str, subjects: Iterable[Subject]) -> dict[int, str]:
    """The code printed on each row's current card (`subjects`: (id, card serial)), by id."""
    serials = dict(subjects)
    if not serials:
        return {}
    found = await ShortCode.select(
        ShortCode.code, ShortCode.subject_id, ShortCode.card_serial
    ).where(ShortCode.kind == kind, ShortCode.subject_id.is_in(list(serials)))
    return {
        int(row["subject_id"]): row["code"]
        for row in found
        if serials.get(int(row["subject_id"])) == row["card_serial"]
    }


async def find(code: str) -> dict[str, Any] | None:
    """The card a typed code names: its kind, id and card serial."""
    row: dict[str, Any] | None = (
        await ShortCode.select(ShortCode.kind, ShortCode.subject_id, ShortCode.card_serial)
        .where(ShortCode.code == code)
        .first()
    )
    return row
