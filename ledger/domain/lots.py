"""Every credit to a household or volunteer is a lot that expires; spending takes the oldest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.domain.accounts import AccountKind

LOT_KINDS = frozenset({AccountKind.HOUSEHOLD, AccountKind.VOLUNTEER})
EXPIRY_YEARS_DEFAULT = 1


@dataclass(frozen=True, slots=True)
class OpenLot:
    lot_id: int
    remaining_points: int


def expires_on(earned_on: date, years_after: int = EXPIRY_YEARS_DEFAULT) -> date:
    """The end of the calendar year `years_after` years after the one it was earned in."""
    return date(earned_on.year + years_after, 12, 31)


def consumption(lots: list[OpenLot], amount_points: int) -> list[tuple[int, int]]:
    """(lot id, points taken) in the order given (the caller sorts oldest first)."""
    plan: list[tuple[int, int]] = []
    left = amount_points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining_points, left)
        if take > 0:
            plan.append((lot.lot_id, take))
            left -= take
    assert left == 0, "lots cover the balance, and the balance covered the debit"
    return plan
