"""How many points each earning event is worth. Pure: the caller supplies what happened before."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.domain.errors import InvalidInput, TooManyMinutes
from ledger.domain.registry import HouseholdKind
from ledger.domain.rules import EarningRules, Grade, Material

STAR_LEVEL_HOURS = (100, 300, 600, 1_000, 1_500)


@dataclass(frozen=True, slots=True)
class GradeAward:
    points: int
    scored: bool  # the first grade of this household, stream and day
    capped: bool  # the daily cap cut the points

    def explanation(self) -> str:
        if not self.scored:
            return "already graded for this stream today: recorded for accuracy, earns 0"
        if self.capped:
            return "the household reached today's grading cap: recorded, points cut to the cap"
        return "credited"


def day_so_far(grades: Iterable[tuple[str, bool, int]], stream: str) -> tuple[bool, int]:
    """From a household's grades of one day, (stream, scored, points awarded) each: whether
    this stream already scored, and the grading points earned (what `award_for_grade` takes)."""
    done = list(grades)
    already = any(scored and graded == stream for graded, scored, _ in done)
    return already, sum(points for _, _, points in done)


def award_for_grade(
    grade: Grade,
    rules: EarningRules,
    *,
    already_scored: bool,
    points_today: int,
    kind: str = HouseholdKind.HOUSEHOLD,
) -> GradeAward:
    """The first grade per household, stream and local day scores; the daily cap bounds the sum.
    A shop or an office (`kind`) is graded with its kind's values where the rules give them."""
    if already_scored:
        return GradeAward(points=0, scored=False, capped=False)
    points = rules.grade_points_for(kind)[grade.value]
    room = max(rules.grading_daily_cap_for(kind) - points_today, 0)
    return GradeAward(points=min(points, room), scored=True, capped=points > room)


@dataclass(frozen=True, slots=True)
class WeighinAward:
    points: int
    capped: bool  # the daily cap cut the points

    def explanation(self) -> str:
        if self.capped:
            return "the household reached today's weigh-in cap: recorded, points cut to the cap"
        return "credited"


def points_for_weighin(material: Material, grams: int, rules: EarningRules) -> int:
    """Points per kg by material; grams are whole, points round down."""
    if not 1 <= grams <= rules.weighin_grams_max:
        raise InvalidInput("grams", f"must be between 1 and {rules.weighin_grams_max}")
    return grams * rules.weighin_points_per_kg[material.value] // 1000


def award_for_weighin(
    material: Material, grams: int, rules: EarningRules, *, points_today: int
) -> WeighinAward:
    """Weigh-in points of a household's local day stay within `weighin_daily_cap_points`;
    beyond it a weigh-in is still recorded, earning 0 (as a capped grading)."""
    points = points_for_weighin(material, grams, rules)
    room = max(rules.weighin_daily_cap_points - points_today, 0)
    return WeighinAward(points=min(points, room), capped=points > room)


def shift_minutes(elapsed_seconds: int, rules: EarningRules) -> int:
    """Whole units of 15 minutes, rounded down; under one unit counts nothing."""
    minutes = max(elapsed_seconds, 0) // 60
    return minutes - minutes % rules.shift_minutes_unit


def minutes_within_daily_max(minutes: int, minutes_today: int, rules: EarningRules) -> int:
    """At most `shift_daily_minutes_max` a person a local day."""
    return max(min(minutes, rules.shift_daily_minutes_max - minutes_today), 0)


def check_minutes_for_day(minutes: int, minutes_today: int, rules: EarningRules) -> None:
    """Approved and back-filled minutes of a volunteer's local day never exceed
    `shift_daily_minutes_max`; `minutes_today` are those already approved or back-filled."""
    room = max(rules.shift_daily_minutes_max - minutes_today, 0)
    if minutes > room:
        raise TooManyMinutes(
            f"{minutes} minutes would pass the daily maximum of "
            f"{rules.shift_daily_minutes_max}: {room} minutes are left on that day",
            minutes_left=room,
        )


def points_for_minutes(minutes: int, points_per_hour: int) -> int:
    """Points pro rata per minute, rounded down (10 per hour: 45 minutes earn 7)."""
    return minutes * points_per_hour // 60


def star_level(total_minutes: int) -> int:
    """0-5 stars at 100 / 300 / 600 / 1,000 / 1,500 hours."""
    hours = total_minutes // 60
    return sum(1 for threshold in STAR_LEVEL_HOURS if hours >= threshold)


def next_star_hours(total_minutes: int) -> int | None:
    level = star_level(total_minutes)
    return STAR_LEVEL_HOURS[level] if level < len(STAR_LEVEL_HOURS) else None
