"""Lots: opened by credits, taken by debits oldest first, given back when a debit is reversed.

Always called after the account's balance row was updated in the same transaction, so the row
lock (or SQLite's single writer) serialises everything that touches one account's lots.
"""

from __future__ import annotations

from datetime import date, datetime

from ledger.domain.lots import OpenLot, consumption
from ledger.store import sql
from ledger.store.tables import Lot, LotUse


async def open_lot(
    account_id: int, entry_id: int, points: int, expires: date, now: datetime
) -> None:
    await sql.later(
        "INSERT INTO lot (account_id, entry_id, points, remaining_points, expires_on, created_at) "
        "VALUES ($1, $2, $3, $3, $4, $5)",
        account_id,
        entry_id,
        points,
        expires,
        now,
    )


async def take(account_id: int, entry_id: int, points: int, first_entry_id: int | None) -> None:
    """Take `points` from the account's lots: the lot of `first_entry_id` first (reversing a
    credit takes back that credit's own points), then the soonest to expire."""
    rows = (
        await Lot.select(Lot.id, Lot.entry_id, Lot.remaining_points)
        .where(Lot.account_id == account_id, Lot.remaining_points > 0)
        .order_by(Lot.expires_on)
        .order_by(Lot.id)
    )
    ordered = sorted(rows, key=lambda row: row["entry_id"] != first_entry_id)
    plan = consumption([OpenLot(row["id"], row["remaining_points"]) for row in ordered], points)
    for lot_id, taken in plan:
        await Lot.raw(
            "UPDATE lot SET remaining_points = remaining_points - {} WHERE id = {}", taken, lot_id
        )
    await LotUse.insert(*(LotUse(entry_id=entry_id, lot_id=lot_id, points=n) for lot_id, n in plan))


async def give_back(original_entry_id: int, reversal_entry_id: int, points: int) -> bool:
    """Undo what a debit took, lot by lot, keeping each lot's expiry. False if it took none."""
    uses = await LotUse.select(LotUse.lot_id, LotUse.points).where(
        LotUse.entry_id == original_entry_id, LotUse.points > 0
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
    await LotUse.insert(
        *(LotUse(entry_id=reversal_entry_id, lot_id=u["lot_id"], points=-u["points"]) for u in uses)
    )
    return True


async def expiring_summary(account_id: int) -> list[dict[str, object]]:
    """What is left of the account's lots, by expiry date."""
    rows = await Lot.raw(
        "SELECT expires_on, SUM(remaining_points) AS points FROM lot "
        "WHERE account_id = {} AND remaining_points > 0 GROUP BY expires_on ORDER BY expires_on",
        account_id,
    )
    return [{"points": int(row["points"]), "expires_on": str(row["expires_on"])} for row in rows]


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
