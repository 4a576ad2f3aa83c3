"""What the web pages show beside the services' answers: read-only, no rules decided here.

Access is the caller's business (pages pass the signed-in person's own ids, or check
`Principal.covers_compound` first, as the services do).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ledger.domain.errors import NotFound
from ledger.store import views as store

RECENT_MAX = 50


async def household(household_id: int) -> store.HouseholdView:
    row = await store.household_view(household_id)
    if row is None:
        raise NotFound("household", household_id)
    return row


async def recent_grades(household_id: int, limit: int = 10) -> list[store.GradeLine]:
    """Latest grades, each with its appeal (if any)."""
    rows = await store.inspections_of(household_id, min(limit, RECENT_MAX))
    appeals = await store.appeals_of_inspections([row.id for row in rows])
    return [replace(row, appeal=appeals.get(row.id)) for row in rows]


@dataclass(frozen=True, slots=True)
class AppealToDecide:
    """An open appeal as the coordinator's page shows it: the grade it contests (None if that
    grade is gone) and the household's address, with the resident's reason."""

    id: int
    inspection: int
    reason: str
    graded: store.GradedUnit | None


@dataclass(frozen=True, slots=True)
class ShiftToDecide:
    """A pending shift as the coordinator's page shows it, with the names it refers to."""

    id: int
    volunteer_name: str
    post_name: str
    compound_name: str
    started_at: str  # ISO text, as the list of shifts gives it
    flagged: bool
    minutes: int


async def appeal_details(appeals: list[dict[str, Any]]) -> list[AppealToDecide]:
    """Appeals (as a page of them lists them) with the grade they contest and the address."""
    inspections = await store.inspections_by_id([int(a["inspection"]) for a in appeals])
    return [
        AppealToDecide(
            id=a["id"],
            inspection=a["inspection"],
            reason=a["reason"],
            graded=inspections.get(int(a["inspection"])),
        )
        for a in appeals
    ]


async def shift_details(shifts: list[dict[str, Any]]) -> list[ShiftToDecide]:
    """Shifts (as a page of them lists them) with the volunteer's, post's and compound's names."""
    volunteers = await store.names("volunteer", [int(s["volunteer"]) for s in shifts])
    posts = await store.names("post", [int(s["post"]) for s in shifts if s.get("post")])
    compounds = await store.names("compound", [int(s["compound"]) for s in shifts])
    return [
        ShiftToDecide(
            id=s["id"],
            volunteer_name=volunteers.get(int(s["volunteer"]), ""),
            post_name=posts.get(int(s["post"]), "") if s.get("post") else "",
            compound_name=compounds.get(int(s["compound"]), ""),
            started_at=s["started_at"],
            flagged=s["flagged"],
            minutes=s["minutes"],
        )
        for s in shifts
    ]


async def recent_shifts(volunteer_id: int, limit: int = 10) -> list[store.ShiftLine]:
    return await store.shifts_of(volunteer_id, min(limit, RECENT_MAX))


async def open_shift(volunteer_id: int) -> store.OpenShift | None:
    return await store.open_shift(volunteer_id)


async def compound_names(compound_ids: list[int]) -> dict[int, str]:
    return await store.names("compound", compound_ids)


async def users(limit: int = RECENT_MAX * 10) -> list[store.UserLine]:
    """Every login with its role and whether it may still sign in (the admin's users list)."""
    return await store.users(limit)
