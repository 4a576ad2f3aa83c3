"""Volunteer applications, the communities a coordinator's compounds lie in, and hours by party."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.store import locks, sql
from ledger.store.tables import Compound, Volunteer, VolunteerApplication

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


@dataclass(frozen=True, slots=True)
class ApplicationFields:
    """Who applied, where, and how it stands: the same in the store and in a list."""

    id: int
    community_id: int
    name: str
    phone: str
    affiliation: str
    party_branch: str
    status: str


@dataclass(frozen=True, slots=True)
class ApplicationRow(ApplicationFields):
    created_at: datetime
    decided_at: datetime | None
    volunteer_id: int | None
    pin_hash: str = ""  # read only for a decision (`application`), never listed


@dataclass(frozen=True, slots=True)
class NewApplication:
    community_id: int
    name: str
    phone: str
    pin_hash: str
    affiliation: str
    party_branch: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PartyMinutes:
    affiliation: str
    branch: str
    volunteers: int
    minutes: int


def _application(row: dict[str, Any]) -> ApplicationRow:
    return ApplicationRow(
        id=row["id"],
        community_id=row["community"],
        name=row["name"],
        phone=str(row["phone"]),
        affiliation=row["affiliation"],
        party_branch=row["party_branch"],
        status=row["status"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        volunteer_id=row["volunteer"],
        pin_hash=row.get("pin_hash", ""),
    )


async def add_application(application: NewApplication) -> int:
    rows = await VolunteerApplication.insert(
        VolunteerApplication(
            community=application.community_id,
            name=application.name,
            phone=application.phone,
            pin_hash=application.pin_hash,
            affiliation=application.affiliation,
            party_branch=application.party_branch,
            status="pending",
            created_at=application.created_at,
        )
    ).returning(VolunteerApplication.id)
    return int(rows[0]["id"])


async def held_application(application_id: int) -> ApplicationRow | None:
    """In the caller's transaction: the application, locked until commit (one decision)."""
    await locks.lock_row(VolunteerApplication, application_id)
    row = (
        await VolunteerApplication.select().where(VolunteerApplication.id == application_id).first()
    )
    return None if row is None else _application(row)


async def decided(
    application_id: int, status: str, by: int | None, at: datetime, volunteer_id: int | None
) -> None:
    """The decision; the login holds the hash now (or nobody needs it), so the application
    keeps no secret once decided."""
    await VolunteerApplication.update(
        {
            VolunteerApplication.status: status,
            VolunteerApplication.decided_by: by,
            VolunteerApplication.decided_at: at,
            VolunteerApplication.volunteer: volunteer_id,
            VolunteerApplication.pin_hash: "",
        }
    ).where(VolunteerApplication.id == application_id)


async def add_volunteer(application: ApplicationRow, account_id: int, at: datetime) -> int:
    """The volunteer record an approved application makes."""
    rows = await Volunteer.insert(
        Volunteer(
            community=application.community_id,
            name=application.name,
            account=account_id,
            created_at=at,
            affiliation=application.affiliation,
            party_branch=application.party_branch,
        )
    ).returning(Volunteer.id)
    return int(rows[0]["id"])


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
) -> list[ApplicationRow]:
    """Applications in id order after a cursor; `communities` limits to a coordinator's."""
    query = VolunteerApplication.select(*_LISTED).where(VolunteerApplication.status == status)
    if communities is not None:
        query = query.where(VolunteerApplication.community.is_in(sorted(communities) or [0]))
    if after_id is not None:
        query = query.where(VolunteerApplication.id > after_id)
    rows = await query.order_by(VolunteerApplication.id).limit(limit)
    return [_application(row) for row in rows]


MINUTES_BY_PARTY = (
    "SELECT v.affiliation AS affiliation, v.party_branch AS branch, "
    "COUNT(DISTINCT v.id) AS volunteers, SUM(s.minutes) AS minutes "
    "FROM shift s JOIN volunteer v ON v.id = s.volunteer "
    "WHERE s.community_id = $1 AND s.status = 'approved' "
    "AND s.local_day >= $2 AND s.local_day < $3 "
    "GROUP BY v.affiliation, v.party_branch"
)


async def minutes_by_party(community_id: int, first: date, end: date) -> list[PartyMinutes]:
    """Approved minutes (scanned and back-filled) of local days first..end (end excluded), per
    affiliation and party branch, with how many volunteers served them."""
    rows = await sql.fetch(MINUTES_BY_PARTY, community_id, first, end)
    return [
        PartyMinutes(
            str(row["affiliation"]),
            str(row["branch"]),
            int(row["volunteers"]),
            int(row["minutes"] or 0),
        )
        for row in rows
    ]
