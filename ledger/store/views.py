"""Reads for the web pages: what a page shows next to a service's answer. Nothing here decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.store import sql
from ledger.store.earning import ScannedHousehold
from ledger.store.engine import IN_ID_LIST, dialect, id_list
from ledger.store.records import picked
from ledger.store.tables import (
    Appeal,
    AppUser,
    CollectionPoint,
    Compound,
    DutyPost,
    Volunteer,
)

# Reads that join tables are `$1` SQL (docs/ARCHITECTURE.md: the query builder is for plain
# one-table CRUD). A list of ids is an array on PostgreSQL and a JSON text on SQLite.
_HOUSEHOLD = (
    "SELECT h.*, c.name AS compound_name, c.community AS community_id "
    "FROM household h JOIN compound c ON c.id = h.compound WHERE h.id = $1"
)
_INSPECTIONS_OF = (
    "SELECT i.id, i.stream, i.grade, i.final_grade, i.reasons, i.points_awarded, i.scored, "
    "i.local_day, i.created_at, p.name AS point_name "
    "FROM inspection i LEFT JOIN collection_point p ON p.id = i.point "
    "WHERE i.household = $1 ORDER BY i.id DESC LIMIT $2"
)
_GRADED = (
    "SELECT i.id, i.stream, i.grade, i.final_grade, i.reasons, i.points_awarded, i.local_day, "
    "i.created_at, h.building, h.unit, h.room, h.kind, h.name, c.name AS compound_name "
    "FROM inspection i LEFT JOIN household h ON h.id = i.household "
    "LEFT JOIN compound c ON c.id = i.compound "
)
_GRADED_BY_ID = {engine: f"{_GRADED}WHERE i.id {in_ids}" for engine, in_ids in IN_ID_LIST.items()}
_SHIFT_LINE = (
    "SELECT s.id, s.kind, s.status, s.started_at, s.ended_at, s.minutes, s.flagged, "
    "d.name AS post_name FROM shift s LEFT JOIN duty_post d ON d.id = s.post "
)
_SHIFTS_OF = _SHIFT_LINE + "WHERE s.volunteer = $1 ORDER BY s.id DESC LIMIT $2"
_OPEN_SHIFT = (
    "SELECT s.id, s.post, s.started_at, d.name AS post_name "
    "FROM shift s LEFT JOIN duty_post d ON d.id = s.post "
    "WHERE s.volunteer = $1 AND s.status = 'open' LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class HouseholdView(ScannedHousehold):
    """A household (or shop, office) with its compound's name and community."""

    compound_name: str
    created_at: datetime


async def household_view(household_id: int) -> HouseholdView | None:
    """The household with its compound's name and community."""
    row = await sql.fetch_one(_HOUSEHOLD, household_id)
    return None if row is None else picked(HouseholdView, row)


@dataclass(frozen=True, slots=True)
class AppealMark:
    """The appeal of a grade, as the grade's line shows it."""

    id: int
    inspection: int
    status: str
    new_grade: str | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class GradeRow:
    """A grade as stored: what was given, what it is now (after an appeal or a re-inspection),
    why, its points and when."""

    id: int
    stream: str
    grade: str
    final_grade: str
    reasons: str
    points_awarded: int
    local_day: date
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GradeLine(GradeRow):
    """A household's grade as its pages list it, with the point's name and its appeal."""

    scored: bool
    point_name: str | None
    appeal: AppealMark | None = None


async def inspections_of(household_id: int, limit: int) -> list[GradeLine]:
    """A household's latest grades, newest first, with the point's name (no appeal yet)."""
    rows = await sql.fetch(_INSPECTIONS_OF, household_id, limit)
    return [GradeLine(**dict(row)) for row in rows]  # its appeal comes later


async def appeals_of_inspections(inspection_ids: list[int]) -> dict[int, AppealMark]:
    if not inspection_ids:
        return {}
    rows = await Appeal.select(
        Appeal.id, Appeal.inspection, Appeal.status, Appeal.new_grade, Appeal.decided_at
    ).where(Appeal.inspection.is_in(inspection_ids))
    return {int(row["inspection"]): AppealMark(**row) for row in rows}


@dataclass(frozen=True, slots=True)
class GradedUnit(GradeRow):
    """A grade as an appeal's line shows it: the grade, the unit graded and its compound."""

    building: str
    unit: str
    room: str
    kind: str
    name: str
    compound_name: str


async def inspections_by_id(inspection_ids: list[int]) -> dict[int, GradedUnit]:
    if not inspection_ids:
        return {}
    rows = await sql.fetch(_GRADED_BY_ID[dialect()], id_list(inspection_ids))
    return {int(row["id"]): picked(GradedUnit, row) for row in rows}


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
    rows = await sql.fetch(_SHIFTS_OF, volunteer_id, limit)
    return [picked(ShiftLine, row) for row in rows]


async def open_shift(volunteer_id: int) -> OpenShift | None:
    row = await sql.fetch_one(_OPEN_SHIFT, volunteer_id)
    return None if row is None else picked(OpenShift, row)


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
