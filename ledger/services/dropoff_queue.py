"""A collection point's queue of residents' drop-offs, and the drop-off a grading names.

A signed-in resident who scans a point's code (`Scans.dropoff`) waits in that point's queue
for 30 minutes (ledger/domain/dropoffs.py); the inspector grading there sees the household and
grades it with `dropoff_id` in place of the card's token. `graded_dropoff` is the one place
that turns a `dropoff_id` into the household a grade is for: the grading group (a scan alone
or an offline batch) calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.access import Principal
from ledger.domain.dropoffs import queue_since
from ledger.domain.errors import DropoffElsewhere, InvalidInput, NotFound, OutOfScope
from ledger.domain.localtime import local_day
from ledger.domain.registry import household_label
from ledger.ports import Clock
from ledger.services.accounts import decode_cursor, encode_cursor
from ledger.store import dropoffs as store
from ledger.store import earning as earning_store
from ledger.store.dropoffs import DropoffRow, QueuedDropoff
from ledger.store.earning import ScannedHousehold, ScannedPoint


def check_subject(household_token: str | None, dropoff_id: int | None) -> None:
    """A grading names its household one way: the card's token or the resident's drop-off."""
    if (household_token is None) == (dropoff_id is None):
        field = "household_token" if household_token is None else "dropoff_id"
        raise InvalidInput(field, "send exactly one of household_token and dropoff_id")


async def graded_dropoff(
    dropoff_id: int, point: ScannedPoint
) -> tuple[DropoffRow, ScannedHousehold]:
    """The drop-off and its household (with its compound's `community_id`, as a scanned
    card's row comes). 404 for an unknown drop-off; 422 `wrong_point` when it was recorded at
    another point than the one being graded at."""
    dropoff = await store.find(dropoff_id)
    if dropoff is None:
        raise NotFound("dropoff", dropoff_id)
    if dropoff.point != point.id:
        raise DropoffElsewhere(
            "this drop-off was recorded at another collection point: grade it there",
            point_id=dropoff.point,
        )
    household = await earning_store.scanned_household(dropoff.household)
    assert household is not None, "a drop-off's household exists (foreign key)"
    return dropoff, household


def queue_label(queued: QueuedDropoff) -> str:
    """What the inspector reads: a shop's or office's name when it has one, else the address
    as printed on the card."""
    if queued.name:
        return queued.name
    return household_label(queued.building, queued.unit, queued.room)


@dataclass(frozen=True, slots=True)
class QueueItem:
    dropoff_id: int
    household_id: int
    label: str
    building: str
    unit: str
    room: str
    dropped_at: datetime
    graded: bool
    graded_streams: list[str]
    name: str | None


@dataclass(frozen=True, slots=True)
class PointQueue:
    point_id: int
    items: list[QueueItem]
    next_cursor: str | None


@dataclass(frozen=True)
class DropoffQueue:
    clock: Clock

    async def at_point(
        self, viewer: Principal, point_id: int, cursor: str | None, limit: int
    ) -> PointQueue:
        """The point's drop-offs of the last 30 minutes, oldest first, each with the streams
        already graded from it; only households of the point's compound (a resident of another
        compound may scan here, but their address is not this compound's staff's to read).
        Inspectors and coordinators of the point's compound, admins."""
        compound_id = await earning_store.compound_of_point(point_id)
        if compound_id is None:
            raise NotFound("collection point", point_id)
        now = self.clock.now()
        if not viewer.covers_compound(compound_id, local_day(now)):
            raise OutOfScope("this collection point is not in a compound you serve")
        since, after = queue_since(now), decode_cursor(cursor)
        rows = await store.at_point(point_id, compound_id, since, after, limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        graded = await store.graded_streams_of([row.dropoff_id for row in rows])
        items = [_item(row, graded.get(row.dropoff_id, set())) for row in rows]
        cursor_out = encode_cursor(items[-1].dropoff_id) if more else None
        return PointQueue(point_id=point_id, items=items, next_cursor=cursor_out)


def _item(row: QueuedDropoff, streams: set[str]) -> QueueItem:
    return QueueItem(
        dropoff_id=row.dropoff_id,
        household_id=row.household_id,
        label=queue_label(row),
        building=row.building,
        unit=row.unit,
        room=row.room,
        dropped_at=row.dropped_at,
        graded=bool(streams),
        graded_streams=sorted(streams),
        name=row.name or None,
    )
