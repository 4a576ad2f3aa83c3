"""Residents' drop-offs as the inspector's queue reads them, and the grades given from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.store import sql
from ledger.store.tables import Inspection


@dataclass(frozen=True, slots=True)
class DropoffRow:
    """A drop-off: where, when and for which household it was recorded."""

    id: int
    household: int
    point: int
    compound: int
    community_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QueuedDropoff:
    """A drop-off in a point's queue, with its household's address (or a shop's name)."""

    dropoff_id: int
    household_id: int
    building: str
    unit: str
    room: str
    name: str
    dropped_at: datetime


FIND = "SELECT id, household, point, compound, community_id, created_at FROM dropoff WHERE id = $1"
AT_POINT = (
    "SELECT h.id, h.building, h.unit, h.room, h.name, d.id AS dropoff_id, "
    "d.created_at AS dropped_at FROM dropoff d "
    "JOIN household h ON h.id = d.household "
    "WHERE d.point = $1 AND h.compound = $2 AND d.created_at >= $3 AND d.id > $4 "
    "ORDER BY d.id LIMIT $5"
)


async def find(dropoff_id: int) -> DropoffRow | None:
    row = await sql.fetch_one(FIND, dropoff_id)
    if row is None:
        return None
    return DropoffRow(
        id=int(row["id"]),
        household=int(row["household"]),
        point=int(row["point"]),
        compound=int(row["compound"]),
        community_id=int(row["community_id"]),
        created_at=row["created_at"],
    )


async def graded_streams_of(dropoff_ids: Sequence[int]) -> dict[int, set[str]]:
    """The same for many drop-offs, by id (those graded in no stream are left out)."""
    if not dropoff_ids:
        return {}
    rows = await Inspection.select(Inspection.dropoff_id, Inspection.stream).where(
        Inspection.dropoff_id.is_in(sorted(set(dropoff_ids)))
    )
    graded: dict[int, set[str]] = {}
    for row in rows:
        graded.setdefault(int(row["dropoff_id"]), set()).add(str(row["stream"]))
    return graded


async def at_point(
    point_id: int, compound_id: int, since: datetime, after_id: int | None, limit: int
) -> list[QueuedDropoff]:
    """A point's drop-offs recorded from `since` by households of `compound_id` (the point's:
    another compound's address is not its staff's to see), oldest first, each with its
    household's address, or a shop's or office's name."""
    rows = await sql.fetch(AT_POINT, point_id, compound_id, since, after_id or 0, limit)
    return [
        QueuedDropoff(
            dropoff_id=int(row["dropoff_id"]),
            household_id=int(row["id"]),
            building=str(row["building"]),
            unit=str(row["unit"]),
            room=str(row["room"]),
            name=str(row["name"] or ""),
            dropped_at=row["dropped_at"],
        )
        for row in rows
    ]
