"""Volunteer time: shifts checked in and out at duty posts, and hours back-filled by staff.

The minutes a day already counts (the daily maximum's checks) are read by
ledger/store/earning.py (`shift_minutes_on`, `served_minutes_on`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.store import locks
from ledger.store.registry import TableClass
from ledger.store.tables import Shift

# What a page of shifts lists (ledger/services/accounts.py `scoped_page`).
LISTED: TableClass = Shift


@dataclass(frozen=True, slots=True)
class ShiftFields:
    """Where, who, what kind and when: what every shift has from the start."""

    community_id: int
    compound_id: int
    post_id: int | None
    volunteer_id: int
    kind: str
    status: str
    started_at: datetime
    local_day: date


@dataclass(frozen=True, slots=True)
class ShiftRow(ShiftFields):
    id: int
    minutes: int
    rule_version: int | None


@dataclass(frozen=True, slots=True)
class NewShift(ShiftFields):
    """A shift checked in (`open`), or hours back-filled (approved at once)."""

    created_at: datetime
    ended_at: datetime | None = None
    minutes: int = 0
    note: str = ""
    decided_by: int | None = None
    decided_at: datetime | None = None
    rule_version: int | None = None


@dataclass(frozen=True, slots=True)
class ShiftClosing:
    """A check-out, or an automatic close of a shift left open (`flagged`)."""

    status: str
    ended_at: datetime
    minutes: int
    rule_version: int
    note: str
    flagged: bool = False


@dataclass(frozen=True, slots=True)
class ShiftMinutes:
    kind: str
    status: str
    minutes: int


def _shift(row: dict[str, Any]) -> ShiftRow:
    return ShiftRow(
        id=row["id"],
        community_id=row["community_id"],
        compound_id=row["compound"],
        post_id=row["post"],
        volunteer_id=row["volunteer"],
        kind=row["kind"],
        status=row["status"],
        started_at=row["started_at"],
        local_day=row["local_day"],
        minutes=int(row["minutes"]),
        rule_version=row["rule_version"],
    )


async def open_shift(volunteer_id: int) -> ShiftRow | None:
    row = (
        await Shift.select().where(Shift.volunteer == volunteer_id, Shift.status == "open").first()
    )
    return None if row is None else _shift(row)


async def stale_open_shifts(
    started_before: datetime, limit: int, after_id: int = 0
) -> list[ShiftRow]:
    """Open shifts started before a moment, by id, from after `after_id` (for paging)."""
    rows = await (
        Shift.select()
        .where(Shift.status == "open", Shift.started_at < started_before, Shift.id > after_id)
        .order_by(Shift.id)
        .limit(limit)
    )
    return [_shift(row) for row in rows]


async def lock(shift_id: int) -> None:
    """Hold the shift until commit: two requests deciding it are decided one after the other."""
    await locks.lock_row(Shift, shift_id)


async def held(shift_id: int) -> ShiftRow | None:
    """In the caller's transaction: the shift, locked until commit."""
    await lock(shift_id)
    row = await Shift.select().where(Shift.id == shift_id).first()
    return None if row is None else _shift(row)


async def add(shift: NewShift) -> int:
    rows = await Shift.insert(
        Shift(
            community_id=shift.community_id,
            compound=shift.compound_id,
            post=shift.post_id,
            volunteer=shift.volunteer_id,
            kind=shift.kind,
            status=shift.status,
            started_at=shift.started_at,
            ended_at=shift.ended_at,
            local_day=shift.local_day,
            minutes=shift.minutes,
            note=shift.note,
            decided_by=shift.decided_by,
            decided_at=shift.decided_at,
            rule_version=shift.rule_version,
            created_at=shift.created_at,
        )
    ).returning(Shift.id)
    return int(rows[0]["id"])


async def close(shift_id: int, closing: ShiftClosing) -> None:
    values: dict[Any, Any] = {
        Shift.status: closing.status,
        Shift.ended_at: closing.ended_at,
        Shift.minutes: closing.minutes,
        Shift.note: closing.note,
        Shift.rule_version: closing.rule_version,
    }
    if closing.flagged:
        values[Shift.flagged] = True
    await Shift.update(values).where(Shift.id == shift_id)


async def decided(
    shift_id: int, status: str, by: int, at: datetime, points: int, entry_id: int | None
) -> None:
    await Shift.update(
        {
            Shift.status: status,
            Shift.decided_by: by,
            Shift.decided_at: at,
            Shift.points_awarded: points,
            Shift.entry_id: entry_id,
        }
    ).where(Shift.id == shift_id)


async def minutes_of(volunteer_id: int) -> list[ShiftMinutes]:
    """Every shift's minutes of a volunteer, with its kind and status (hours kept forever)."""
    rows = await Shift.select(Shift.kind, Shift.status, Shift.minutes).where(
        Shift.volunteer == volunteer_id
    )
    return [ShiftMinutes(row["kind"], row["status"], int(row["minutes"])) for row in rows]
