"""lot_total: the points left per account and expiry date, kept with every lot change (both
engines). The balance read shows it; `verify` proves it equals the lots it sums."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ledger.services.container import Services
from ledger.store import lots
from ledger.store.tables import Lot, LotTotal

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def _totals() -> dict[tuple[int, str], int]:
    rows = await LotTotal.select(LotTotal.account_id, LotTotal.expires_on, LotTotal.points)
    return {(r["account_id"], str(r["expires_on"])): r["points"] for r in rows if r["points"]}


async def _lot_sums() -> dict[tuple[int, str], int]:
    rows: list[dict[str, Any]] = await Lot.raw(
        "SELECT account_id, expires_on, SUM(remaining_points) AS points FROM lot "
        "GROUP BY account_id, expires_on"
    )
    return {(r["account_id"], str(r["expires_on"])): int(r["points"]) for r in rows if r["points"]}


async def test_open_many_opens_lots_and_adds_to_their_totals(services: Services) -> None:
    first, second = date(2027, 12, 31), date(2028, 12, 31)
    async with services.db.write():
        await lots.open_lot(1, 100, 5, first, NOW)  # waits, on PostgreSQL, for the next INSERT
        await lots.open_many(
            [
                (1, 101, 7, first, NOW),
                (1, 102, 3, first, NOW),
                (1, 103, 4, second, NOW),
                (2, 104, 9, first, NOW),
            ]
        )
        await lots.open_many([])
    async with services.db.write():
        await lots.open_many([(2, 105, 1, first, NOW), (3, 106, 2, second, NOW)])
    expected = {
        (1, "2027-12-31"): 15,
        (1, "2028-12-31"): 4,
        (2, "2027-12-31"): 10,
        (3, "2028-12-31"): 2,
    }
    assert await _totals() == expected
    assert await _lot_sums() == expected
    opened = await Lot.select(Lot.entry_id, Lot.points, Lot.remaining_points).order_by(Lot.entry_id)
    assert [(r["entry_id"], r["points"], r["remaining_points"]) for r in opened] == [
        (100, 5, 5),
        (101, 7, 7),
        (102, 3, 3),
        (103, 4, 4),
        (104, 9, 9),
        (105, 1, 1),
        (106, 2, 2),
    ]


async def test_two_lots_of_one_expiry_in_one_transaction(services: Services) -> None:
    """One statement may not upsert one total twice: the second waits for the first to go."""
    expires = date(2027, 12, 31)
    async with services.db.write():
        await lots.open_lot(7, 200, 5, expires, NOW)
        await lots.open_lot(7, 201, 6, expires, NOW)
        await lots.open_lot(8, 202, 1, expires, NOW)
    assert await _totals() == {(7, "2027-12-31"): 11, (8, "2027-12-31"): 1}
    assert await _lot_sums() == await _totals()
