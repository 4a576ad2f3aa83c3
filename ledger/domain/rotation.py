"""Inspectors' rotation plan: who grades which compound in which ISO week (issue 19, 2(a)).

A week is named by its Monday, local time (Asia/Shanghai, as every day here is); its label is
ISO 8601's "2026-W50". No inspector grades the same compound for more than `weeks_max` weeks
running, so that residents see a fresh pair of eyes now and then
(docs/decisions/2026-12-06-inspector-rotation.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from ledger.domain.errors import InvalidInput, LedgerError, OutOfScope

# At most this many consecutive weeks on one compound; a deployment may set another
# (GREENLEDGER_ROTATION_WEEKS_MAX, api/settings.py).
ROTATION_WEEKS_MAX_DEFAULT = 4
ROTATION_WEEKS_MAX_LIMIT = 52
# How many weeks ahead a coordinator may plan (and the plan page shows at most).
PLAN_WEEKS_AHEAD_MAX = 26

_WEEK_LABEL = re.compile(r"^(\d{4})-W(\d{2})$")
WEEK = timedelta(days=7)


class RotationExceeded(LedgerError):
    """The assignment would make an inspector grade one compound more weeks running than the
    rotation allows."""

    code = "rotation_exceeded"


class NotAssigned(OutOfScope):
    """The inspector has assignments in that week, and this compound is not one of them."""

    code = "not_assigned"


def week_of(day: date) -> date:
    """The Monday of the ISO week a local day falls in: the week's name in the store."""
    return day - timedelta(days=day.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str, field: str = "week") -> date:
    """ "2026-W50" → that week's Monday; anything else is a 400 naming the field."""
    match = _WEEK_LABEL.match(text.strip())
    if match is None:
        raise InvalidInput(field, f"must be an ISO week like 2026-W50, not {text!r}")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as error:
        raise InvalidInput(field, f"{text!r} is not a week of that year") from error


def check_weeks_max(weeks_max: int) -> int:
    if not 1 <= weeks_max <= ROTATION_WEEKS_MAX_LIMIT:
        raise ValueError(f"rotation weeks must be 1..{ROTATION_WEEKS_MAX_LIMIT}, not {weeks_max}")
    return weeks_max


def check_plannable(week: date, today: date) -> None:
    """A week may be planned from the current week (a change today takes effect today) up to
    PLAN_WEEKS_AHEAD_MAX weeks ahead; the past is what happened and stays."""
    current = week_of(today)
    if week < current:
        raise InvalidInput("week", f"{week_label(week)} is in the past")
    if week > current + PLAN_WEEKS_AHEAD_MAX * WEEK:
        raise InvalidInput(
            "week", f"{week_label(week)} is more than {PLAN_WEEKS_AHEAD_MAX} weeks ahead"
        )


def run_with(weeks: Iterable[date], week: date) -> list[date]:
    """The consecutive weeks (Mondays, in order) that `week` would belong to, were it added to
    `weeks`: the weeks an inspector already has on one compound."""
    taken = set(weeks) | {week}
    first = week
    while first - WEEK in taken:
        first -= WEEK
    run = [first]
    while run[-1] + WEEK in taken:
        run.append(run[-1] + WEEK)
    return run


def check_rotation(
    inspector: str, compound: str, weeks: Iterable[date], week: date, weeks_max: int
) -> None:
    """Refuse an assignment that would make more than `weeks_max` consecutive weeks of one
    inspector on one compound, naming the inspector, the compound and the weeks."""
    run = run_with(weeks, week)
    if len(run) > weeks_max:
        labels = [week_label(w) for w in run]
        raise RotationExceeded(
            f"{inspector} would grade {compound} for {len(run)} weeks running "
            f"({labels[0]} to {labels[-1]}); at most {weeks_max} are allowed",
            inspector=inspector,
            compound=compound,
            weeks=labels,
            weeks_max=weeks_max,
        )
