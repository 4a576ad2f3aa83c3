"""Every board computed from the source tables: the fallback, and the check of Redis.

The definitions match the facts exactly (ledger/domain/leaderboard.py): points a household
earned (earned entries less the reversals of earned entries; never adjustments), grades by final
grade on the day graded, households with a grade or a drop-off, minutes of approved shifts on
the shift's day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ledger.domain.leaderboard import EARNED_KINDS
from ledger.domain.localtime import day_start
from ledger.store import sql
from ledger.store.tables import Household, Volunteer

_NET_POINTS = (
    "SELECT h.{group} AS subject, SUM(CASE WHEN e.credit_account_id = h.account "
    "THEN e.amount_points ELSE -e.amount_points END) AS value "
    "FROM entry e JOIN account d ON d.id = e.debit_account_id "
    "JOIN account c ON c.id = e.credit_account_id "
    "JOIN household h ON h.account = CASE WHEN c.kind = 'household' "
    "THEN e.credit_account_id ELSE e.debit_account_id END "
    "LEFT JOIN entry o ON o.id = e.reverses_entry_id "
    "WHERE h.compound = $1 AND ((d.kind = 'issuance' AND c.kind = 'household') "
    "OR (d.kind = 'household' AND c.kind = 'issuance')) "
    "AND (e.kind IN ({earned}) OR (e.kind = 'reversal' AND o.kind IN ({earned}))){window} "
    "GROUP BY h.{group}"
)
_EARNED = ", ".join(f"'{kind.value}'" for kind in sorted(EARNED_KINDS))


def _between(column: str, windowed: bool) -> str:
    """The half-open window `[$2, $3)` on `column`, or nothing for all time."""
    return f" AND {column} >= $2 AND {column} < $3" if windowed else ""


# By household id or by building, over all time or a window: (by_building, windowed) → text.
NET_POINTS = {
    (by_building, windowed): _NET_POINTS.format(
        group="building" if by_building else "id",
        window=_between("e.created_at", windowed),
        earned=_EARNED,
    )
    for by_building in (False, True)
    for windowed in (False, True)
}
GRADES = {
    windowed: "SELECT compound, COUNT(*) AS graded, "  # noqa: S608 (constant fragments only)
    "SUM(CASE WHEN final_grade = 'good' THEN 1 ELSE 0 END) AS good FROM inspection "
    f"WHERE community_id = $1{_between('local_day', windowed)} GROUP BY compound"
    for windowed in (False, True)
}
PARTICIPANTS = {
    windowed: "SELECT compound, COUNT(DISTINCT household) AS households FROM ("  # noqa: S608 (constant fragments only)
    "SELECT compound, household FROM inspection "
    f"WHERE community_id = $1{_between('local_day', windowed)} "
    "UNION SELECT compound, household FROM dropoff "
    f"WHERE community_id = $1{_between('local_day', windowed)}"
    ") taking_part GROUP BY compound"
    for windowed in (False, True)
}
VOLUNTEER_MINUTES = {
    windowed: "SELECT volunteer, SUM(minutes) AS minutes FROM shift "  # noqa: S608 (constant fragments only)
    "WHERE community_id = $1 AND status = 'approved' AND minutes > 0"
    f"{_between('local_day', windowed)} GROUP BY volunteer"
    for windowed in (False, True)
}
COMPOUNDS_OF = (
    "SELECT c.id, c.name, c.kind, COUNT(h.id) AS households FROM compound c "
    "LEFT JOIN household h ON h.compound = c.id WHERE c.community = $1 "
    "GROUP BY c.id, c.name, c.kind ORDER BY c.id"
)
COMMUNITY_IDS = "SELECT id FROM community ORDER BY id"
COMMUNITY_EXISTS = "SELECT id FROM community WHERE id = $1"


async def net_points(
    compound_id: int, by_building: bool, first: date | None, end: date | None
) -> dict[str, int]:
    window = _time_window(first, end)
    rows = await sql.fetch(NET_POINTS[(by_building, bool(window))], compound_id, *window)
    # Shops and offices have no building (""): they are not on the buildings board.
    return {str(row["subject"]): int(row["value"]) for row in rows if str(row["subject"])}


async def grades(
    community_id: int, first: date | None, end: date | None
) -> dict[int, tuple[int, int]]:
    """compound → (graded, good by final grade)."""
    window = _day_window(first, end)
    rows = await sql.fetch(GRADES[bool(window)], community_id, *window)
    return {int(row["compound"]): (int(row["graded"]), int(row["good"])) for row in rows}


async def participants(community_id: int, first: date | None, end: date | None) -> dict[int, int]:
    """compound → households with at least one grade or drop-off."""
    window = _day_window(first, end)
    rows = await sql.fetch(PARTICIPANTS[bool(window)], community_id, *window)
    return {int(row["compound"]): int(row["households"]) for row in rows}


async def volunteer_minutes(
    community_id: int, first: date | None, end: date | None
) -> dict[str, int]:
    window = _day_window(first, end)
    rows = await sql.fetch(VOLUNTEER_MINUTES[bool(window)], community_id, *window)
    return {str(row["volunteer"]): int(row["minutes"]) for row in rows}


@dataclass(frozen=True, slots=True)
class CompoundSize:
    """A compound's name, kind and registered households (or shops, offices)."""

    name: str
    kind: str
    households: int


async def compounds_of(community_id: int) -> dict[int, CompoundSize]:
    """compound → name, kind and registered households (or shops, offices)."""
    rows = await sql.fetch(COMPOUNDS_OF, community_id)
    return {
        int(row["id"]): CompoundSize(row["name"], row["kind"], int(row["households"]))
        for row in rows
    }


async def households_by_id(ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = await Household.select(
        Household.id,
        Household.building,
        Household.unit,
        Household.room,
        Household.compound,
        Household.kind,
        Household.name,
    ).where(Household.id.is_in(ids))
    return {int(row["id"]): row for row in rows}


@dataclass(frozen=True, slots=True)
class HouseholdPlace:
    """Where a household account sits: its household, compound and building."""

    id: int
    compound: int
    building: str


async def households_of_accounts(account_ids: list[int]) -> dict[int, HouseholdPlace]:
    """Where each household account sits, by account id."""
    if not account_ids:
        return {}
    rows = await Household.select(
        Household.account, Household.id, Household.compound, Household.building
    ).where(Household.account.is_in(sorted(set(account_ids))))
    return {
        int(row["account"]): HouseholdPlace(row["id"], row["compound"], row["building"])
        for row in rows
    }


async def volunteer_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await Volunteer.select(Volunteer.id, Volunteer.name).where(Volunteer.id.is_in(ids))
    return {int(row["id"]): str(row["name"]) for row in rows}


def _time_window(first: date | None, end: date | None) -> list[datetime]:
    return [] if first is None or end is None else [_utc(first), _utc(end)]


def _day_window(first: date | None, end: date | None) -> list[date]:
    return [] if first is None or end is None else [first, end]


def _utc(day: date) -> datetime:
    return day_start(day).astimezone(UTC)


async def community_ids() -> list[int]:
    rows = await sql.fetch(COMMUNITY_IDS)
    return [int(row["id"]) for row in rows]


async def community_exists(community_id: int) -> bool:
    return await sql.fetch_one(COMMUNITY_EXISTS, community_id) is not None
