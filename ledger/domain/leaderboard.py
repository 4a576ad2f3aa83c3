"""Boards: periods, what each fact adds where, and the ranking rule. Pure.

A fact is something a board counts, recorded in the same transaction as the change:
  earned        {"account": id, "delta": ±points}        points a household earned (or lost by
                                                         the reversal of an earned entry)
  grade         {"compound": id, "good": 0|1, "graded": ±1} an inspection (or an appeal's regrade)
  participation {"compound": id, "household": id}         a household took part that day
  hours         {"volunteer": id, "minutes": ±n}           approved volunteer time
  label         {"household": id} | {"volunteer": id}      a board label may have changed
                                                         (written by a database trigger when
                                                         an address, a name or a kind is edited)
Each carries the local `day` it counts on (a label fact counts on no board). Facts of the
retired kind `points` (net points issued, adjustments and carry-overs included; written before
2026-12-06) are kept but count on no board (docs/decisions/2026-12-06-earned-boards.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from ledger.domain.entries import EntryKind


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    HALF_MONTH = "half_month"
    MONTH = "month"
    YEAR = "year"
    ALL = "all"


class Board(StrEnum):
    HOUSEHOLDS = "households"
    BUILDINGS = "buildings"
    COMPOUNDS_ACCURACY = "compounds_accuracy"
    COMPOUNDS_PARTICIPATION = "compounds_participation"
    VOLUNTEERS_HOURS = "volunteers_hours"


# Boards and ranks count points earned by taking part, never points given: an adjustment, a
# carry-over from the paper book or a correction moves a balance but not a rank. Only the
# reversal of an earned entry takes its points off the boards again.
EARNED_KINDS = frozenset(
    {EntryKind.INSPECTION, EntryKind.DROPOFF, EntryKind.WEIGHIN, EntryKind.SHIFT}
)


def counts_as_earned(kind: EntryKind, reverses_kind: EntryKind | None = None) -> bool:
    """Whether an entry moves the points boards: an earned entry, or the reversal of one."""
    if kind is EntryKind.REVERSAL:
        return reverses_kind in EARNED_KINDS
    return kind in EARNED_KINDS


# A compound needs this many grades in a half-month to be put on the red or black list.
REDBLACK_MIN_GRADED = 20
REDBLACK_SIZE = 5


def bucket(period: Period, day: date) -> str:
    """The name of the period that contains `day`: 2026-11-25, 2026-W48, 2026-11-2, …"""
    if period is Period.DAY:
        return day.isoformat()
    if period is Period.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    # Formatted from the numbers: strftime ("%Y-%m") costs several µs a call, on every board
    # read; the text is the same (glibc's %Y does not pad a year either).
    if period is Period.HALF_MONTH:
        return f"{day.year}-{day.month:02d}-{1 if day.day <= 15 else 2}"
    if period is Period.MONTH:
        return f"{day.year}-{day.month:02d}"
    if period is Period.YEAR:
        return str(day.year)
    return "all"


@lru_cache(maxsize=64)
def buckets(day: date) -> tuple[tuple[Period, str], ...]:
    """Every period with the name of its bucket that contains `day`: the projector asks for
    the same few days' names for every fact."""
    return tuple((period, bucket(period, day)) for period in Period)


def bounds(period: Period, day: date) -> tuple[date | None, date | None]:
    """First day and the day after the last of the period containing `day` (None: unbounded)."""
    if period is Period.DAY:
        return day, day + timedelta(days=1)
    if period is Period.WEEK:
        start = day - timedelta(days=day.isoweekday() - 1)
        return start, start + timedelta(days=7)
    if period is Period.HALF_MONTH:
        if day.day <= 15:
            return day.replace(day=1), day.replace(day=16)
        return day.replace(day=16), _next_month(day)
    if period is Period.MONTH:
        return day.replace(day=1), _next_month(day)
    if period is Period.YEAR:
        return date(day.year, 1, 1), date(day.year + 1, 1, 1)
    return None, None


def half_month_day(text: str) -> date:
    """`2026-11-1` → 2026-11-01, `2026-11-2` → 2026-11-16 (a day inside that half-month)."""
    year, month, half = (int(part) for part in text.split("-"))
    if half not in (1, 2):
        raise ValueError(text)
    return date(year, month, 1 if half == 1 else 16)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Keys:
    """Redis key names, namespaced and hash-tagged by community for Redis Cluster."""

    prefix: str
    community_id: int
    # Every key starts with it; made once (the projector names ~30 keys a credit).
    tag: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", f"{self.prefix}:{{c{self.community_id}}}")

    def applied_through(self) -> str:
        return f"{self.tag}:applied"

    def rebuild_lease(self) -> str:
        """Held while a rebuild owns the community; same hash tag, outside the board keys."""
        return f"{self.prefix}-lease:{{c{self.community_id}}}"

    def households(self, compound_id: int, period: Period, name: str) -> str:
        # "earned:": the keys of the earned-points boards; the keys of the retired net-points
        # boards (":hh:", ":bld:") are no longer read, and go with the next rebuild.
        return f"{self.tag}:earned:hh:{compound_id}:{period}:{name}"

    def buildings(self, compound_id: int, period: Period, name: str) -> str:
        return f"{self.tag}:earned:bld:{compound_id}:{period}:{name}"

    def grades(self, period: Period, name: str) -> str:
        return f"{self.tag}:grades:{period}:{name}"

    def participation(self, compound_id: int, period: Period, name: str) -> str:
        return f"{self.tag}:part:{compound_id}:{period}:{name}"

    def volunteers(self, period: Period, name: str) -> str:
        return f"{self.tag}:vol:{period}:{name}"

    def household_labels(self) -> str:
        """household id → its public label, as the households board shows it."""
        return f"{self.tag}:labels:hh"

    def volunteer_labels(self) -> str:
        """volunteer id → the masked name the volunteers board shows."""
        return f"{self.tag}:labels:vol"

    def pattern(self) -> str:
        return f"{self.tag}:*"


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    subject_id: str
    value: Fraction | int


def ranking(scores: Mapping[str, Fraction | int], limit: int) -> list[Ranked]:
    """Highest value first; ties share a rank (1, 2, 2, 4) and are listed by id, numerically,
    so the order is total and the same from Redis and from SQL (ids equal as numbers, 7 and
    07, by their text). Points are plain integers; shares are exact fractions."""
    ordered = sorted(scores.items(), key=lambda item: (-item[1], _id_key(item[0]), item[0]))
    ranked: list[Ranked] = []
    for position, (subject_id, value) in enumerate(ordered[:limit], start=1):
        tied = ranked and ranked[-1].value == value
        ranked.append(Ranked(ranked[-1].rank if tied else position, subject_id, value))
    return ranked


def ratio(part: int, whole: int) -> Fraction:
    return Fraction(part, whole) if whole else Fraction(0)


def percent_text(value: Fraction | int) -> str:
    """One decimal, rounded half up, from the exact fraction."""
    tenths = (value * 1000 + Fraction(1, 2)) // 1
    return f"{tenths // 10}.{tenths % 10}%"


def mask_name(name: str) -> str:
    """Public boards never show names: 朱秀娟 → 朱**."""
    return name[:1] + "*" * max(len(name) - 1, 1)


def _id_key(subject_id: str) -> tuple[int, str]:
    return (int(subject_id), "") if subject_id.isdigit() else (0, subject_id)


class Op(NamedTuple):
    """One Redis change a fact makes: z (ZINCRBY), h (HINCRBY), s (SADD) or l (HSET of a
    label: `amount` is then the label's text). A tuple: an earned credit makes ~30, and a
    frozen dataclass cost the projector ~1.5 µs each to build."""

    command: str
    key: str
    member: str
    amount: int | str
    seq: int


def points_ops(
    keys: Keys, seq: int, day: date, compound_id: int, household_id: int, building: str, delta: int
) -> list[Op]:
    ops: list[Op] = []
    member = str(household_id)
    for period, name in buckets(day):
        ops.append(Op("z", keys.households(compound_id, period, name), member, delta, seq))
        if building:  # shops and offices have no building: they are not on that board
            ops.append(Op("z", keys.buildings(compound_id, period, name), building, delta, seq))
    return ops


def grade_ops(
    keys: Keys, seq: int, day: date, compound_id: int, graded: int, good: int
) -> list[Op]:
    ops: list[Op] = []
    for period, name in buckets(day):
        key = keys.grades(period, name)
        if graded:
            ops.append(Op("h", key, f"{compound_id}:graded", graded, seq))
        if good:
            ops.append(Op("h", key, f"{compound_id}:good", good, seq))
    return ops


def participation_ops(
    keys: Keys, seq: int, day: date, compound_id: int, household_id: int
) -> list[Op]:
    member = str(household_id)
    return [
        Op("s", keys.participation(compound_id, period, name), member, 1, seq)
        for period, name in buckets(day)
    ]


def hours_ops(keys: Keys, seq: int, day: date, volunteer_id: int, minutes: int) -> list[Op]:
    member = str(volunteer_id)
    return [
        Op("z", keys.volunteers(period, name), member, minutes, seq)
        for period, name in buckets(day)
    ]


def label_op(key: str, seq: int, subject_id: int, label: str) -> Op:
    """A board subject's label as of fact `seq`, read from the database when it was projected."""
    return Op("l", key, str(subject_id), label, seq)
