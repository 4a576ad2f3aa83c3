"""Reads for the web pages: what a page shows next to a service's answer. Nothing here decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.store.tables import (
    Appeal,
    AppUser,
    CollectionPoint,
    Compound,
    DutyPost,
    Household,
    Inspection,
    Shift,
    Volunteer,
)


@dataclass(frozen=True, slots=True)
class HouseholdView:
    """A household (or shop, office) with its compound's name and community."""

    id: int
    compound: int
    compound_name: str
    community_id: int
    account: int
    building: str
    unit: str
    room: str
    kind: str
    name: str
    card_serial: int
    join_code: str
    created_at: datetime


async def household(household_id: int) -> dict[str, Any] | None:
    """The household with its compound's name and community (as a row: services/members.py
    reads it so; `household_view` is the typed read)."""
    row: dict[str, Any] | None = await (
        Household.select(
            *Household.all_columns(),
            Household.compound.name.as_alias("compound_name"),
            Household.compound.community.as_alias("community_id"),
        )
        .where(Household.id == household_id)
        .first()
    )
    return row


async def household_view(household_id: int) -> HouseholdView | None:
    """The household with its compound's name and community."""
    row = await household(household_id)
    return None if row is None else HouseholdView(**row)


@dataclass(frozen=True, slots=True)
class AppealMark:
    """The appeal of a grade, as the grade's line shows it."""

    id: int
    inspection: int
    status: str
    new_grade: str | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class GradeLine:
    """A household's grade as its pages list it, with the point's name and its appeal."""

    id: int
    stream: str
    grade: str
    final_grade: str
    reasons: str
    points_awarded: int
    scored: bool
    local_day: date
    created_at: datetime
    point_name: str | None
    appeal: AppealMark | None = None


async def inspections_of(household_id: int, limit: int) -> list[GradeLine]:
    """A household's latest grades, newest first, with the point's name (no appeal yet)."""
    rows: list[dict[str, Any]] = await (
        Inspection.select(
            Inspection.id,
            Inspection.stream,
            Inspection.grade,
            Inspection.final_grade,
            Inspection.reasons,
            Inspection.points_awarded,
            Inspection.scored,
            Inspection.local_day,
            Inspection.created_at,
            Inspection.point.name.as_alias("point_name"),
        )
        .where(Inspection.household == household_id)
        .order_by(Inspection.id, ascending=False)
        .limit(limit)
    )
    return [GradeLine(**row) for row in rows]


async def appeals_of_inspections(inspection_ids: list[int]) -> dict[int, AppealMark]:
    if not inspection_ids:
        return {}
    rows = await Appeal.select(
        Appeal.id, Appeal.inspection, Appeal.status, Appeal.new_grade, Appeal.decided_at
    ).where(Appeal.inspection.is_in(inspection_ids))
    return {int(row["inspection"]): AppealMark(**row) for row in rows}


async def inspections_by_id(inspection_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not inspection_ids:
        return {}
    rows = await Inspection.select(
        Inspection.id,
        Inspection.stream,
        Inspection.grade,
        Inspection.final_grade,
        Inspection.reasons,
        Inspection.points_awarded,
        Inspection.local_day,
        Inspection.household.building.as_alias("building"),
        Inspection.household.unit.as_alias("unit"),
        Inspection.household.room.as_alias("room"),
        Inspection.household.kind.as_alias("kind"),
        Inspection.household.name.as_alias("name"),
        Inspection.compound.name.as_alias("compound_name"),
    ).where(Inspection.id.is_in(inspection_ids))
    return {int(row["id"]): row for row in rows}


@dataclass(frozen=True, slots=True)
class ShiftLine:
    """A shift as a volunteer's page lists it, with its post's name."""

    id: int
    kind: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    minutes: int | None
    flagged: bool
    post_name: str | None


@dataclass(frozen=True, slots=True)
class OpenShift:
    id: int
    post: int | None
    started_at: datetime
    post_name: str | None


@dataclass(frozen=True, slots=True)
class UserLine:
    """A login as the admin's users list shows it."""

    id: int
    username: str
    role: str
    active: bool
    phone: str | None
    display_name: str | None


async def shifts_of(volunteer_id: int, limit: int) -> list[ShiftLine]:
    """A volunteer's latest shifts, newest first, with the post's name."""
    rows: list[dict[str, Any]] = await (
        Shift.select(
            Shift.id,
            Shift.kind,
            Shift.status,
            Shift.started_at,
            Shift.ended_at,
            Shift.minutes,
            Shift.flagged,
            Shift.post.name.as_alias("post_name"),
        )
        .where(Shift.volunteer == volunteer_id)
        .order_by(Shift.id, ascending=False)
        .limit(limit)
    )
    return [ShiftLine(**row) for row in rows]


async def open_shift(volunteer_id: int) -> OpenShift | None:
    row: dict[str, Any] | None = await (
        Shift.select(Shift.id, Shift.post, Shift.started_at, Shift.post.name.as_alias("post_name"))
        .where(Shift.volunteer == volunteer_id, Shift.status == "open")
        .first()
    )
    return None if row is None else OpenShift(**row)


async def names(table_name: str, ids: list[int]) -> dict[int, str]:
    """Names of volunteers, posts, points or compounds by id."""
    table: Any = {
        "volunteer": Volunteer,
        "post": DutyPost,
        "point": CollectionPoint,
        "compound": Compound,
    }[table_name]
    if not ids:
        return {}
    rows = await table.select(table.id, table.name).where(table.id.is_in(sorted(set(ids))))
    return {int(row["id"]): str(row["name"]) for row in rows}


async def users(limit: int) -> list[UserLine]:
    """Logins in id order: name, role, active (and the number and name of a PIN account)."""
    rows: list[dict[str, Any]] = await (
        AppUser.select(
            AppUser.id,
            AppUser.username,
            AppUser.role,
            AppUser.active,
            AppUser.phone,
            AppUser.display_name,
        )
        .order_by(AppUser.id)
        .limit(limit)
    )
    return [UserLine(**row) for row in rows]
