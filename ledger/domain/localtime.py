"""The subdistrict's clock: days, windows and caps are local to Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def local(instant: datetime) -> datetime:
    assert instant.tzinfo is not None, "instants are timezone-aware"
    return instant.astimezone(LOCAL_ZONE)


def local_day(instant: datetime) -> date:
    """The local calendar day an instant falls on, whatever the server's zone."""
    return local(instant).date()


def minute_of_day(instant: datetime) -> int:
    moment = local(instant)
    return moment.hour * 60 + moment.minute


def day_start(day: date) -> datetime:
    """Local midnight at the start of a day, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_ZONE)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    return day_start(day), day_start(day + timedelta(days=1))
