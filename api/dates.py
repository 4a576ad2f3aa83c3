"""Dates and times in query strings and bodies: a bad one is a 400 naming its field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from ledger.domain.errors import InvalidInput

# Every day the service works with lies well inside these; a day near Python's own limits
# (9999-12-31, 0001-01-01) overflows the day after it or its UTC time (issue 12, item 10).
DAY_FIRST = date(2000, 1, 1)
DAY_LAST = date(2999, 12, 31)


def parse_day(text: str, field: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(field, "must be a date like 2026-11-25") from error
    return within_range(day, field)


def within_range(day: date, field: str) -> date:
    if not DAY_FIRST <= day <= DAY_LAST:
        raise InvalidInput(field, f"must be a date from {DAY_FIRST} to {DAY_LAST}")
    return day


def parse_period(first_text: str, last_text: str) -> tuple[date, date]:
    """A report's days, `from`..`to` as its query names them."""
    return parse_day(first_text, "from"), parse_day(last_text, "to")


def report_fields(report: object, *left_out: str) -> dict[str, Any]:
    """A report's fields as its reply names them: its days as from/to, without `left_out`."""
    fields: dict[str, Any] = msgspec.to_builtins(report)
    for name in left_out:
        fields.pop(name)
    fields["from"] = fields.pop("first_day")
    fields["to"] = fields.pop("last_day")
    return fields


def parse_optional_day(text: str | None, field: str) -> date | None:
    return None if text is None else parse_day(text, field)


def parse_moment(text: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(field, "must be an ISO 8601 time with offset") from error


def parse_captured_at(text: str | None) -> datetime | None:
    """A scan's capture time: ISO 8601 with its offset (a bare local time is ambiguous)."""
    if text is None:
        return None
    moment = parse_moment(text, "captured_at")
    if moment.tzinfo is None:
        raise InvalidInput("captured_at", "needs a UTC offset, e.g. 2026-12-05T23:58:00+08:00")
    return moment
