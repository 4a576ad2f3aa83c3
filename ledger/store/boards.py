"""Every board computed from the source tables: the fallback, and the check of Redis.

The definitions match the facts exactly (ledger/domain/leaderboard.py): points a household
earned (earned entries less the reversals of earned entries; never adjustments), grades by final
grade on the day graded, households with a grade or a drop-off, minutes of approved shifts on
the shift's day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ledger.domain.leaderboard import EARNED_KINDS
from ledger.domain.localtime import day_start
from ledger.store.tables import Compound, Entry, Household, Inspection, Volunteer

_NET_POINTS = (
    "SELECT h.{group} AS subject, SUM(CASE WHEN e.credit_account_id = h.account "
    "THEN e.amount_points ELSE -e.amount_points END) AS value "
    "FROM entry e JOIN account d ON d.id = e.debit_account_id "
    "JOIN account c ON c.id = e.credit_account_id "
    "JOIN household h ON h.account = CASE WHEN c.kind = 'household' "
    "THEN e.credit_account_id ELSE e.debit_account_id END "
    "LEFT JOIN entry o ON o.id = e.reverses_entry_id "
    "WHERE h.compound = {{}} AND ((d.kind = 'issuance' AND c.kind = 'household') "
    "OR (d.kind = 'household' AND c.kind = 'issuance')) "
    "AND (e.kind IN ({earned}) OR (e.kind = 'reversal' AND o.kind IN ({earned}))){window} "
    "GROUP BY h.{group}"
)
_EARNED = ", ".join(f"'{kind.value}'" for kind in sorted(EARNED_KINDS))


async def net_points(
    compound_id: int, by_building: bool, first: date | None, end: date | None
) -> dict[str, int]:
    window, args = _time_window("e.created_at", first, end)
    group = "building" if by_building else "id"
    query = _NET_POINTS.format(group=group, window=window, earned=_EARNED)
    rows = await Entry.raw(query, compound_id, *args)
    # Shops and offices have no building (""): they are not on the buildings board.
    return {str(row["subject"]): int(row["value"]) for row in rows if str(row["subject"])}


async def grades(
    community_id: int, first: date | None, end: date | None
) -> dict[int, tuple[int, int]]:
    """compound → (graded, good by final grade)."""
    window, args = _day_window("local_day", first, end)
    rows = await Inspection.raw(
        "SELECT compound, COUNT(*) AS graded, "  # noqa: S608 (constant fragments only)
        "SUM(CASE WHEN final_grade = 'good' THEN 1 ELSE 0 END) AS good FROM inspection "
        "WHERE community_id = {}" + window + " GROUP BY compound",
        community_id,
        *args,
    )
    return {int(row["compound"]): (int(row["graded"]), int(row["good"])) for row in rows}


async def participants(community_id: int, first: date | None, end: date | None) -> dict[int, int]:
    """compound → households with at least one grade or drop-off."""
    window, args = _day_window("local_day", first, end)
    rows = await Inspection.raw(
        "SELECT compound, COUNT(DISTINCT household) AS households FROM ("  # noqa: S608 (constant fragments only)
        "SELECT compound, household FROM inspection WHERE community_id = {}" + window + " "
        "UNION SELECT compound, household FROM dropoff WHERE community_id = {}" + window + ""
        ") taking_part GROUP BY compound",
        community_id,
        *args,
        community_id,
        *args,
    )
    return {int(row["compound"]): int(row["households"]) for row in rows}


async def volunteer_minutes(
    community_id: int, first: date | None, end: date | None
) -> dict[str, int]:
    window, args = _day_window("local_day", first, end)
    rows = await Volunteer.raw(
        "SELECT volunteer, SUM(minutes) AS minutes FROM shift WHERE community_id = {} "  # noqa: S608 (constant fragments only)
        "AND status = 'approved' AND minutes > 0" + window + " GROUP BY volunteer",
        community_id,
        *args,
    )
    return {str(row["volunteer"]): int(row["minutes"]) for row in rows}


async def compounds_of(community_id: int) -> dict[int, dict[str, Any]]:
    """compound → name, kind and registered households (or shops, offices)."""
    rows = await Compound.raw(
        "SELECT c.id, c.name, c.kind, COUNT(h.id) AS households FROM compound c "
        "LEFT JOIN household h ON h.compound = c.id WHERE c.community = {} "
        "GROUP BY c.id, c.name, c.kind ORDER BY c.id",
        community_id,
    )
    return {
        int(row["id"]): {
            "name": row["name"],
            "kind": row["kind"],
            "households": int(row["households"]),
        }
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


async def households_of_accounts(account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Where each household account sits (id, compound, building), by account id."""
    if not account_ids:
        return {}
    rows = await Household.select(
        Household.account, Household.id, Household.compound, Household.building
    ).where(Household.account.is_in(sorted(set(account_ids))))
    return {
        int(row["account"]): {k: row[k] for k in ("id", "compound", "building")} for row in rows
    }


async def volunteer_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await Volunteer.select(Volunteer.id, Volunteer.name).where(Volunteer.id.is_in(ids))
    return {int(row["id"]): str(row["name"]) for row in rows}


def _time_window(column: str, first: date | None, end: date | None) -> tuple[str, list[Any]]:
    if first is None or end is None:
        return "", []
    return f" AND {column} >= {{}} AND {column} < {{}}", [_utc(first), _utc(end)]


def _day_window(column: str, first: date | None, end: date | None) -> tuple[str, list[Any]]:
    if first is None or end is None:
        return "", []
    return f" AND {column} >= {{}} AND {column} < {{}}", [first, end]


def _utc(day: date) -> datetime:
    return day_start(day).astimezone(UTC)


async def community_ids() -> list[int]:
    rows = await Compound.raw("SELECT id FROM community ORDER BY id")
    return [int(row["id"]) for row in rows]
