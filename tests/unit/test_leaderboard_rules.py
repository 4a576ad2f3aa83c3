"""The pure rules of the boards: periods, their bounds, keys, ranking, percentages, masks."""

from __future__ import annotations

import re
from datetime import date, timedelta
from fractions import Fraction

import pytest

from ledger.domain.leaderboard import (
    Keys,
    Period,
    bounds,
    bucket,
    grade_ops,
    half_month_day,
    hours_ops,
    mask_name,
    participation_ops,
    percent_text,
    points_ops,
    ranking,
    ratio,
)

# --- buckets and bounds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "day", "name", "first", "end"),
    [
        (Period.DAY, date(2026, 11, 25), "2026-11-25", date(2026, 11, 25), date(2026, 11, 26)),
        (Period.DAY, date(2026, 12, 31), "2026-12-31", date(2026, 12, 31), date(2027, 1, 1)),
        (Period.WEEK, date(2026, 11, 25), "2026-W48", date(2026, 11, 23), date(2026, 11, 30)),
        (Period.WEEK, date(2026, 11, 23), "2026-W48", date(2026, 11, 23), date(2026, 11, 30)),
        (Period.WEEK, date(2026, 11, 29), "2026-W48", date(2026, 11, 23), date(2026, 11, 30)),
        # 2026 has 53 ISO weeks: its last week runs into January 2027.
        (Period.WEEK, date(2026, 12, 28), "2026-W53", date(2026, 12, 28), date(2027, 1, 4)),
        (Period.WEEK, date(2027, 1, 3), "2026-W53", date(2026, 12, 28), date(2027, 1, 4)),
        (Period.WEEK, date(2027, 1, 4), "2027-W01", date(2027, 1, 4), date(2027, 1, 11)),
        # and 2026-W01 starts in December 2025.
        (Period.WEEK, date(2025, 12, 29), "2026-W01", date(2025, 12, 29), date(2026, 1, 5)),
        (Period.WEEK, date(2026, 1, 1), "2026-W01", date(2025, 12, 29), date(2026, 1, 5)),
        (Period.WEEK, date(2025, 12, 28), "2025-W52", date(2025, 12, 22), date(2025, 12, 29)),
        (Period.HALF_MONTH, date(2026, 11, 1), "2026-11-1", date(2026, 11, 1), date(2026, 11, 16)),
        (
            Period.HALF_MONTH,
            date(2026, 11, 15),
            "2026-11-1",
            date(2026, 11, 1),
            date(2026, 11, 16),
        ),
        (
            Period.HALF_MONTH,
            date(2026, 11, 16),
            "2026-11-2",
            date(2026, 11, 16),
            date(2026, 12, 1),
        ),
        (Period.HALF_MONTH, date(2026, 11, 30), "2026-11-2", date(2026, 11, 16), date(2026, 12, 1)),
        (Period.HALF_MONTH, date(2026, 12, 15), "2026-12-1", date(2026, 12, 1), date(2026, 12, 16)),
        (Period.HALF_MONTH, date(2026, 12, 16), "2026-12-2", date(2026, 12, 16), date(2027, 1, 1)),
        (Period.HALF_MONTH, date(2026, 12, 31), "2026-12-2", date(2026, 12, 16), date(2027, 1, 1)),
        (Period.HALF_MONTH, date(2028, 2, 29), "2028-02-2", date(2028, 2, 16), date(2028, 3, 1)),
        (Period.MONTH, date(2026, 11, 30), "2026-11", date(2026, 11, 1), date(2026, 12, 1)),
        (Period.MONTH, date(2026, 12, 31), "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        (Period.MONTH, date(2026, 1, 1), "2026-01", date(2026, 1, 1), date(2026, 2, 1)),
        (Period.YEAR, date(2026, 12, 31), "2026", date(2026, 1, 1), date(2027, 1, 1)),
        (Period.YEAR, date(2027, 1, 1), "2027", date(2027, 1, 1), date(2028, 1, 1)),
    ],
)
def test_each_period_names_its_bucket_and_bounds(
    period: Period, day: date, name: str, first: date, end: date
) -> None:
    assert bucket(period, day) == name
    assert bounds(period, day) == (first, end)


def test_bucket_names_are_the_strftime_names() -> None:
    """bucket() formats from the numbers; the names stay those strftime gave (Redis keys)."""
    first = date(1, 1, 1).toordinal()
    for ordinal in [
        *range(first, first + 800, 7),
        *range(date(2024, 1, 1).toordinal(), date(2027, 1, 1).toordinal()),
    ]:
        day = date.fromordinal(ordinal)
        assert bucket(Period.MONTH, day) == day.strftime("%Y-%m")
        assert bucket(Period.YEAR, day) == day.strftime("%Y")
        half = 1 if day.day <= 15 else 2
        assert bucket(Period.HALF_MONTH, day) == f"{day.strftime('%Y-%m')}-{half}"
    for year in (5, 999, 1000, 9999):
        assert bucket(Period.MONTH, date(year, 3, 1)) == date(year, 3, 1).strftime("%Y-%m")


def test_all_time_has_one_bucket_and_no_bounds() -> None:
    assert bucket(Period.ALL, date(2026, 11, 25)) == "all"
    assert bucket(Period.ALL, date(1999, 1, 1)) == "all"
    assert bounds(Period.ALL, date(2026, 11, 25)) == (None, None)


@pytest.mark.parametrize("period", [p for p in Period if p is not Period.ALL])
def test_bounds_and_buckets_agree_on_every_day_for_three_years(period: Period) -> None:
    """Every day inside a period's bounds has that period's bucket, and the day after does not:
    the SQL answer (bounds) and the Redis key (bucket) cover the same days."""
    day = date(2025, 12, 1)
    while day < date(2028, 3, 1):
        first, end = bounds(period, day)
        assert first is not None
        assert end is not None
        assert first <= day < end
        assert bucket(period, first) == bucket(period, day)
        assert bucket(period, end - timedelta(days=1)) == bucket(period, day)
        assert bucket(period, end) != bucket(period, day)
        assert bucket(period, first - timedelta(days=1)) != bucket(period, day)
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-1", date(2026, 11, 1)),
        ("2026-11-2", date(2026, 11, 16)),
        ("2026-12-2", date(2026, 12, 16)),
    ],
)
def test_a_half_month_name_gives_a_day_inside_it(text: str, day: date) -> None:
    assert half_month_day(text) == day
    assert bucket(Period.HALF_MONTH, day) == f"{text[:7]}-{text[-1]}"


@pytest.mark.parametrize("text", ["2026-11-3", "2026-11-0", "2026-13-1", "2026-00-2", "x-y-z"])
def test_a_bad_half_month_name_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the controller turns any ValueError into 400)
        half_month_day(text)


# --- ranking ---------------------------------------------------------------------------------


def _ranked(scores: dict[str, int], limit: int = 10) -> list[tuple[int, str, int]]:
    return [
        (r.rank, r.subject_id, int(r.value))
        for r in ranking({k: Fraction(v) for k, v in scores.items()}, limit)
    ]


def test_ties_share_a_rank_and_the_next_rank_skips() -> None:
    assert _ranked({"7": 30, "3": 20, "5": 20, "9": 10}) == [
        (1, "7", 30),
        (2, "3", 20),
        (2, "5", 20),
        (4, "9", 10),
    ]


def test_ties_are_listed_by_numeric_id_not_by_text() -> None:
    assert _ranked({"10": 5, "9": 5, "100": 5, "2": 5}) == [
        (1, "2", 5),
        (1, "9", 5),
        (1, "10", 5),
        (1, "100", 5),
    ]


def test_the_order_does_not_depend_on_the_order_of_the_input() -> None:
    scores = {"12": 3, "4": 7, "31": 3, "2": 7, "8": -1, "1": 0}
    expected = [(1, "2", 7), (1, "4", 7), (3, "12", 3), (3, "31", 3), (5, "1", 0), (6, "8", -1)]
    assert _ranked(scores) == expected
    assert _ranked(dict(reversed(list(scores.items())))) == expected


def test_a_limit_cuts_the_list_but_not_the_ranks() -> None:
    scores = {"1": 9, "2": 8, "3": 8, "4": 8, "5": 1}
    assert _ranked(scores, limit=3) == [(1, "1", 9), (2, "2", 8), (2, "3", 8)]
    assert _ranked(scores, limit=4)[-1] == (2, "4", 8)
    assert _ranked({}, limit=5) == []


def test_fractions_that_are_equal_tie_whatever_their_terms() -> None:
    ranked = ranking({"2": Fraction(2, 4), "1": Fraction(1, 2), "3": Fraction(1, 3)}, 10)
    assert [(r.rank, r.subject_id) for r in ranked] == [(1, "1"), (1, "2"), (3, "3")]


def test_building_names_that_are_not_numbers_still_sort_deterministically() -> None:
    ranked = ranking({"5A": Fraction(1), "12": Fraction(1), "3": Fraction(1)}, 10)
    first = [r.subject_id for r in ranked]
    again = [
        r.subject_id for r in ranking({"3": Fraction(1), "12": Fraction(1), "5A": Fraction(1)}, 10)
    ]
    assert first == again
    assert first.index("3") < first.index("12")


# --- percentages and masks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(0), "0.0%"),
        (Fraction(1), "100.0%"),
        (Fraction(1, 3), "33.3%"),
        (Fraction(2, 3), "66.7%"),
        (Fraction(1, 8), "12.5%"),
        (Fraction(1, 16), "6.3%"),  # 6.25 rounds half up
        (Fraction(1, 2000), "0.1%"),  # 0.05 rounds half up
        (Fraction(1, 2001), "0.0%"),  # just under 0.05
        (Fraction(999, 1000), "99.9%"),
        (Fraction(1999, 2000), "100.0%"),  # 99.95 rounds up to 100.0
        (Fraction(19, 20), "95.0%"),
        (Fraction(7, 9), "77.8%"),
    ],
)
def test_percent_text_has_one_decimal_rounded_half_up_from_the_exact_fraction(
    value: Fraction, text: str
) -> None:
    assert percent_text(value) == text


def test_a_ratio_of_nothing_is_zero_not_a_division_error() -> None:
    assert ratio(0, 0) == 0
    assert ratio(3, 4) == Fraction(3, 4)


@pytest.mark.parametrize(
    ("name", "masked"),
    [("朱秀娟", "朱**"), ("李明", "李*"), ("王", "王*"), ("欧阳娜娜", "欧***"), ("Tom", "T**")],
)
def test_mask_name_keeps_only_the_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked
    assert name[1:] == "" or name[1:] not in mask_name(name)


# --- keys ------------------------------------------------------------------------------------

_TAG = re.compile(r"\{([^}]*)\}")


def _hash_tag(key: str) -> str:
    """The part of a key Redis Cluster hashes: the first non-empty {…}."""
    match = _TAG.search(key)
    assert match is not None, key
    assert match.group(1), key
    return match.group(1)


def test_every_key_of_a_community_shares_its_hash_tag() -> None:
    keys = Keys("gl", 7)
    day = date(2026, 12, 31)
    named = [
        keys.applied_through(),
        keys.households(3, Period.DAY, "2026-12-31"),
        keys.buildings(3, Period.WEEK, "2026-W53"),
        keys.grades(Period.HALF_MONTH, "2026-12-2"),
        keys.participation(3, Period.MONTH, "2026-12"),
        keys.volunteers(Period.ALL, "all"),
    ]
    named += [op.key for op in points_ops(keys, 1, day, 3, 11, "5", 10)]
    named += [op.key for op in grade_ops(keys, 2, day, 3, 1, 1)]
    named += [op.key for op in participation_ops(keys, 3, day, 3, 11)]
    named += [op.key for op in hours_ops(keys, 4, day, 2, 60)]
    assert {_hash_tag(key) for key in named} == {"c7"}
    assert all(key.startswith("gl:{c7}:") for key in named)
    assert keys.pattern() == "gl:{c7}:*"


def test_communities_and_prefixes_never_share_keys() -> None:
    one, other, elsewhere = Keys("gl", 1), Keys("gl", 11), Keys("gl2", 1)
    assert _hash_tag(one.applied_through()) != _hash_tag(other.applied_through())
    assert one.households(1, Period.DAY, "2026-11-25") != other.households(
        1, Period.DAY, "2026-11-25"
    )
    assert one.applied_through() != elsewhere.applied_through()


def test_a_fact_touches_one_key_per_period_with_its_bucket_names() -> None:
    keys = Keys("gl", 1)
    day = date(2027, 1, 3)
    ops = hours_ops(keys, 9, day, 4, 45)
    assert [op.key for op in ops] == [
        "gl:{c1}:vol:day:2027-01-03",
        "gl:{c1}:vol:week:2026-W53",
        "gl:{c1}:vol:half_month:2027-01-1",
        "gl:{c1}:vol:month:2027-01",
        "gl:{c1}:vol:year:2027",
        "gl:{c1}:vol:all:all",
    ]
    assert {(op.command, op.member, op.amount, op.seq) for op in ops} == {("z", "4", 45, 9)}
    points = points_ops(keys, 5, day, 3, 11, "5", -10)
    assert len(points) == 2 * len(Period)
    assert {op.member for op in points} == {"11", "5"}
    assert {op.amount for op in points} == {-10}


def test_a_regrade_without_a_new_grade_only_moves_good() -> None:
    ops = grade_ops(Keys("gl", 1), 3, date(2026, 11, 25), 2, graded=0, good=-1)
    assert {(op.command, op.member, op.amount) for op in ops} == {("h", "2:good", -1)}
    assert grade_ops(Keys("gl", 1), 3, date(2026, 11, 25), 2, graded=1, good=0)[0].member == (
        "2:graded"
    )
