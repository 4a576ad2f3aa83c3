"""Residents' drop-offs as the inspector's queue reads them, and the grades given from it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledger.store import sql
from ledger.store.tables import Inspection


async def find(dropoff_id: int) -> dict[str, Any] | None:
    """A drop-off: where, when and for which household it was recorded."""
    row = await sql.fetch_one(
        "SELECT id, household, point, compound, community_id, created_at FROM dropoff "
        "WHERE id = $1",
        dropoff_id,
    )
    return None if row is None else dict(row)


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
) -> list[dict[str, Any]]:
    """A point's drop-offs recorded from `since` by households of `compound_id` (the point's:
    another compound's address is not its staff's to see), oldest first, each with its
    household's row (whatever columns it has: an address, or a shop's name) as `dropoff_id`,
    `dropped_at`."""
    rows = await sql.fetch(
        "SELECT h.*, d.id AS dropoff_id, d.created_at AS dropped_at FROM dropoff d "
        "JOIN household h ON h.id = d.household "
        "WHERE d.point = $1 AND h.compound = $2 AND d.created_at >= $3 AND d.id > $4 "
        "ORDER BY d.id LIMIT $5",
        point_id,
        compound_id,
        since,
        after_id or 0,
        limit,
    )
    return [dict(row) for row in rows]
