"""Lots: opened by credits, taken by debits oldest first, given back when a debit is reversed.

Always called after the account's balance row was updated in the same transaction, so the row
lock (or SQLite's single writer) serialises everything that touches one account's lots.

Every change to a lot's `remaining_points`, and every new lot, also changes `lot_total` (the
account's points left per expiry date, what the balance read shows) in the same transaction:
`verify` (lot_totals_match_lots) proves the two agree
(docs/decisions/2026-12-04-lot-totals.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from ledger.domain.lots import OpenLot, consumption
from ledger.store import sql
from ledger.store.engine import is_sqlite
from ledger.store.tables import Lot, LotUse

OPEN_LOT = (
    "INSERT INTO lot (account_id, entry_id, points, remaining_points, expires_on, created_at) "
    "VALUES ($1, $2, $3, $3, $4, $5)"
)
# Plain SQL for both engines (PostgreSQL; SQLite >= 3.24). One statement may not change one row
# twice, so `_add_to_total` never queues two for the same (account, expiry).
ADD_TO_TOTAL = (
    "INSERT INTO lot_total (account_id, expires_on, points) VALUES ($1, $2, $3) "
    "ON CONFLICT (account_id, expires_on) DO UPDATE SET points = lot_total.points + excluded.points"
)
# PostgreSQL only (array parameters): many lots, and their totals, in one statement each.
OPEN_MANY_PG = (
    "INSERT INTO lot (account_id, entry_id, points, remaining_points, expires_on, created_at) "
    "SELECT a, e, p, p, x, c FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::date[], "
    "$5::timestamptz[]) AS t(a, e, p, x, c)"
)
ADD_MANY_TO_TOTALS_PG = (
    "INSERT INTO lot_total (account_id, expires_on, points) "
    "SELECT a, x, p FROM unnest($1::bigint[], $2::date[], $3::bigint[]) AS t(a, x, p) "
    "ON CONFLICT (account_id, expires_on) DO UPDATE SET points = lot_total.points + excluded.points"
)


async def open_lot(
    account_id: int, entry_id: int, points: int, expires: date, now: datetime
) -> None:
    await sql.later(OPEN_LOT, account_id, entry_id, points, expires, now)
    await _add_to_total(account_id, expires, points)


async def open_many(rows: Sequence[tuple[int, int, int, date, datetime]]) -> None:
    """Many new lots, (account_id, entry_id, points, expires_on, created_at) each, with their
    totals: on PostgreSQL two writes whatever the number of lots, waiting to ride on the next
    INSERT. Inside the caller's write transaction, after the accounts' balances were updated."""
    if not rows:
        return
    totals = _summed((account_id, expires, points) for account_id, _, points, expires, _ in rows)
    if is_sqlite():
        for row in rows:
            await sql.fetch(OPEN_LOT, *row)
        for account_id, expires, points in totals:
            await sql.fetch(ADD_TO_TOTAL, account_id, expires, points)
        return
    columns = list(zip(*rows, strict=True))
    await sql.later(OPEN_MANY_PG, *(list(column) for column in columns))
    if sql.waiting_arguments(ADD_MANY_TO_TOTALS_PG) or sql.waiting_arguments(ADD_TO_TOTAL):
        await sql.flush()  # one statement may not change a total twice
    await sql.later(
        ADD_MANY_TO_TOTALS_PG,
        [account_id for account_id, _, _ in totals],
        [expires for _, expires, _ in totals],
        [points for _, _, points in totals],
    )


def _summed(changes: Iterable[tuple[int, date, int]]) -> list[tuple[int, date, int]]:
    """One change per (account, expiry), in key order (the order rows are locked in)."""
    summed: defaultdict[tuple[int, date], int] = defaultdict(int)
    for account_id, expires, points in changes:
        summed[(account_id, expires)] += points
    return [
        (account_id, expires, points) for (account_id, expires), points in sorted(summed.items())
    ]


async def _add_to_total(account_id: int, expires: date, points: int) -> None:
    """Add to one total, with the next statement; after any change to it still waiting."""
    if any(
        arguments[0] == account_id and arguments[1] == expires
        for arguments in sql.waiting_arguments(ADD_TO_TOTAL)
    ):
        await sql.flush()
    await sql.later(ADD_TO_TOTAL, account_id, expires, points)


async def take(account_id: int, entry_id: int, points: int, first_entry_id: int | None) -> None:
    """Take `points` from the account's lots: the lot of `first_entry_id` first (reversing a
    credit takes back that credit's own points), then the soonest to expire."""
    rows = (
        await Lot.select(Lot.id, Lot.entry_id, Lot.remaining_points, Lot.expires_on)
        .where(Lot.account_id == account_id, Lot.remaining_points > 0)
        .order_by(Lot.expires_on)
        .order_by(Lot.id)
    )
    ordered = sorted(rows, key=lambda row: row["entry_id"] != first_entry_id)
    plan = consumption([OpenLot(row["id"], row["remaining_points"]) for row in ordered], points)
    expiry = {row["id"]: row["expires_on"] for row in rows}
    for lot_id, taken in plan:
        await Lot.raw(
            "UPDATE lot SET remaining_points = remaining_points - {} WHERE id = {}", taken, lot_id
        )
    for _, expires, change in _summed((account_id, expiry[lot_id], -n) for lot_id, n in plan):
        await _add_to_total(account_id, expires, change)
    await LotUse.insert(*(LotUse(entry_id=entry_id, lot_id=lot_id, points=n) for lot_id, n in plan))


async def give_back(original_entry_id: int, reversal_entry_id: int, points: int) -> bool:
    """Undo what a debit took, lot by lot, keeping each lot's expiry. False if it took none."""
    uses = await LotUse.raw(
        "SELECT u.lot_id, u.points, l.account_id, l.expires_on FROM lot_use u "
        "JOIN lot l ON l.id = u.lot_id WHERE u.entry_id = {} AND u.points > 0 ORDER BY u.id",
        original_entry_id,
    )
    if not uses:
        return False
    assert sum(use["points"] for use in uses) == points, "a debit took exactly its amount"
    for use in uses:
        await Lot.raw(
            "UPDATE lot SET remaining_points = remaining_points + {} WHERE id = {}",
            use["points"],
            use["lot_id"],
        )
    changes = ((use["account_id"], use["expires_on"], use["points"]) for use in uses)
    for account_id, expires, change in _summed(changes):
        await _add_to_total(account_id, expires, change)
    await LotUse.insert(
        *(LotUse(entry_id=reversal_entry_id, lot_id=u["lot_id"], points=-u["points"]) for u in uses)
    )
    return True


async def due(account_id: int, before: date) -> list[dict[str, int]]:
    """Lots with points left whose last valid day is before `before`."""
    rows = (
        await Lot.select(Lot.id, Lot.remaining_points)
        .where(Lot.account_id == account_id, Lot.remaining_points > 0, Lot.expires_on < before)
        .order_by(Lot.id)
    )
    return [{"lot_id": row["id"], "points": row["remaining_points"]} for row in rows]


async def accounts_with_due_lots(before: date, after_account_id: int, limit: int) -> list[int]:
    rows = await Lot.raw(
        "SELECT DISTINCT account_id FROM lot WHERE remaining_points > 0 AND expires_on < {} "
        "AND account_id > {} ORDER BY account_id LIMIT {}",
        before,
        after_account_id,
        limit,
    )
    return [int(row["account_id"]) for row in rows]
