"""Volunteer applications, the communities a coordinator's compounds lie in, and hours by party."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.store.tables import Compound, Shift, VolunteerApplication

# Everything a list shows; never the PIN's hash.
_LISTED = (
    VolunteerApplication.id,
    VolunteerApplication.community,
    VolunteerApplication.name,
    VolunteerApplication.phone,
    VolunteerApplication.affiliation,
    VolunteerApplication.party_branch,
    VolunteerApplication.status,
    VolunteerApplication.created_at,
    VolunteerApplication.decided_at,
    VolunteerApplication.volunteer,
)


async def communities_of(compound_ids: frozenset[int]) -> frozenset[int]:
    """The communities these compounds lie in (a coordinator's reach for applications)."""
    if not compound_ids:
        return frozenset()
    rows = await Compound.select(Compound.community).where(Compound.id.is_in(sorted(compound_ids)))
    return frozenset(int(row["community"]) for row in rows)


async def pending_with_phone(community_id: int, phone: str) -> bool:
    return bool(
        await VolunteerApplication.exists().where(
            VolunteerApplication.community == community_id,
            VolunteerApplication.phone == phone,
            VolunteerApplication.status == "pending",
        )
    )


async def page(
    status: str, communities: frozenset[int] | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Applications in id order after a cursor; `communities` limits to a coordinator's."""
    query = VolunteerApplication.select(*_LISTED).where(VolunteerApplication.status == status)
    if communities is not None:
        query = query.where(VolunteerApplication.community.is_in(sorted(communities) or [0]))
    if after_id is not None:
        query = query.where(VolunteerApplication.id > after_id)
    rows: list[dict[str, Any]] = await query.order_by(VolunteerApplication.id).limit(limit)
    return rows


async def minutes_by_party(community_id: int, first: date, end: date) -> list[dict[str, Any]]:
    """Approved minutes (scanned and back-filled) of local days first..end (end excluded), per
    affiliation and party branch, with how many volunteers served them."""
    rows: list[dict[str, Any]] = await Shift.raw(
        "SELECT v.affiliation AS affiliation, v.party_branch AS branch, "
        "COUNT(DISTINCT v.id) AS volunteers, SUM(s.minutes) AS minutes "
        "FROM shift s JOIN volunteer v ON v.id = s.volunteer "
        "WHERE s.community_id = {} AND s.status = 'approved' "
        "AND s.local_day >= {} AND s.local_day < {} "
        "GROUP BY v.affiliation, v.party_branch",
        community_id,
        first,
        end,
    )
    return rows
