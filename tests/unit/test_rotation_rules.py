"""The rotation rule as a pure function (ledger/domain/rotation.py) and the Principal's scope
by week (ledger/domain/access.py), including properties checked by Hypothesis."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.settings import PREFIX, ConfigError, Settings
from ledger.domain.access import Principal, Role
from ledger.domain.errors import InvalidInput
from ledger.domain.rotation import (
    WEEK,
    RotationExceeded,
    check_plannable,
    check_rotation,
    parse_week,
    run_with,
    week_label,
    week_of,
)

MONDAY = date(2026, 11, 23)  # 2026-W48


def test_weeks_are_named_by_monday_and_iso_label() -> None:
    assert week_of(date(2026, 11, 29)) == MONDAY  # a Sunday belongs to the Monday before
    assert week_label(MONDAY) == "2026-W48"
    assert parse_week("2026-W48") == MONDAY
    assert week_label(date(2026, 12, 28)) == "2026-W53"  # 2026 has 53 ISO weeks
    assert week_label(date(2027, 1, 4)) == "2027-W01"
    for bad in ("2026-48", "2026-W00", "2025-W53", "W48", "2026-W1"):
        with pytest.raises(InvalidInput):
            parse_week(bad)


def test_four_weeks_running_pass_the_fifth_is_refused_naming_everything() -> None:
    weeks = [MONDAY + n * WEEK for n in range(4)]
    check_rotation("inspector-1", "信义坊", weeks[:3], weeks[3], 4)
    with pytest.raises(RotationExceeded) as refused:
        check_rotation("inspector-1", "信义坊", weeks, MONDAY + 4 * WEEK, 4)
    error = refused.value
    assert error.code == "rotation_exceeded"
    assert error.extra["inspector"] == "inspector-1"
    assert error.extra["compound"] == "信义坊"
    assert error.extra["weeks"] == ["2026-W48", "2026-W49", "2026-W50", "2026-W51", "2026-W52"]
    assert "inspector-1" in error.detail
    assert "信义坊" in error.detail
    assert "2026-W48 to 2026-W52" in error.detail


def test_a_week_filling_a_gap_joins_both_runs() -> None:
    taken = [MONDAY, MONDAY + WEEK, MONDAY + 3 * WEEK, MONDAY + 4 * WEEK]
    assert run_with(taken, MONDAY + 2 * WEEK) == [MONDAY + n * WEEK for n in range(5)]
    with pytest.raises(RotationExceeded):
        check_rotation("i", "c", taken, MONDAY + 2 * WEEK, 4)
    check_rotation("i", "c", taken, MONDAY + 2 * WEEK, 5)


def test_the_past_and_the_far_future_cannot_be_planned() -> None:
    wednesday = MONDAY + timedelta(days=2)
    check_plannable(MONDAY, wednesday)  # the current week can change: it takes effect now
    with pytest.raises(InvalidInput, match="past"):
        check_plannable(MONDAY - WEEK, wednesday)
    with pytest.raises(InvalidInput, match="ahead"):
        check_plannable(MONDAY + 27 * WEEK, wednesday)


weeks_strategy = st.sets(st.integers(min_value=0, max_value=40), max_size=30)


@given(taken=weeks_strategy, new=st.integers(min_value=0, max_value=40), limit=st.integers(1, 8))
def test_refused_exactly_when_the_longest_run_would_exceed_the_limit(
    taken: set[int], new: int, limit: int
) -> None:
    """Against an independent count: the longest stretch of consecutive week numbers through
    `new` in taken ∪ {new}."""
    everything = taken | {new}
    low = new
    while low - 1 in everything:
        low -= 1
    high = new
    while high + 1 in everything:
        high += 1
    mondays = [MONDAY + n * WEEK for n in taken]
    assert len(run_with(mondays, MONDAY + new * WEEK)) == high - low + 1
    if high - low + 1 > limit:
        with pytest.raises(RotationExceeded):
            check_rotation("i", "c", mondays, MONDAY + new * WEEK, limit)
    else:
        check_rotation("i", "c", mondays, MONDAY + new * WEEK, limit)


@given(
    st.lists(st.integers(min_value=0, max_value=60), unique=True, max_size=40), st.integers(1, 6)
)
def test_a_plan_built_through_the_rule_never_has_a_run_over_the_limit(
    order: list[int], limit: int
) -> None:
    """Adding weeks one at a time in any order, keeping those the rule accepts: no stretch of
    the kept weeks is longer than the limit."""
    kept: list[date] = []
    for n in order:
        week = MONDAY + n * WEEK
        try:
            check_rotation("i", "c", kept, week, limit)
        except RotationExceeded:
            continue
        kept.append(week)
    for week in kept:
        assert len(run_with(kept, week)) <= limit


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_week_labels_round_trip(day: date) -> None:
    monday = week_of(day)
    assert monday.weekday() == 0
    assert monday <= day < monday + WEEK
    assert parse_week(week_label(monday)) == monday


def test_an_inspector_grades_only_the_assigned_compounds_in_an_assigned_week() -> None:
    inspector = Principal(
        1,
        "i",
        Role.INSPECTOR,
        compound_ids=frozenset({10}),
        rotation=((MONDAY, frozenset({20})),),
        rotation_span=(MONDAY - WEEK, MONDAY + WEEK),
    )
    wednesday = MONDAY + timedelta(days=2)
    assert inspector.assigned_on(wednesday) == frozenset({20})
    assert inspector.grades_compound(20, wednesday)
    assert not inspector.grades_compound(10, wednesday)
    last_week = MONDAY - timedelta(days=1)
    assert inspector.assigned_on(last_week) is None  # no plan that week: standing scope
    assert inspector.grades_compound(10, last_week)
    assert not inspector.grades_compound(20, last_week)
    assert inspector.covers_compound(20, wednesday)  # reach: a typed code of B resolves
    assert not inspector.covers_compound(20)  # without a day, only the standing scope


def test_rotation_reaches_this_week_and_last_never_a_later_one() -> None:
    inspector = Principal(
        1,
        "i",
        Role.INSPECTOR,
        compound_ids=frozenset({10}),
        rotation=((MONDAY, frozenset({20})), (MONDAY + WEEK, frozenset({30}))),
        rotation_span=(MONDAY - WEEK, MONDAY + WEEK),
    )
    sunday = MONDAY + timedelta(days=6)
    assert inspector.rotation_reach(sunday) == frozenset({20})  # not next week's 30
    assert not inspector.covers_compound(30, sunday)
    assert inspector.rotation_reach(sunday + timedelta(days=1)) == frozenset({20, 30})
    assert inspector.rotation_reach(MONDAY + 2 * WEEK) == frozenset({30})  # a week late: 20 gone
    assert inspector.rotation_reach(MONDAY - timedelta(days=1)) == frozenset()
    assert inspector.covers_compound(10, MONDAY - WEEK)  # the standing scope, any day
    clerk = Principal(2, "c", Role.CLERK, rotation=((MONDAY, frozenset({20})),))
    assert not clerk.covers_compound(20, MONDAY)  # a rotation is an inspector's only


def test_without_a_plan_scope_is_as_before() -> None:
    before = Principal(1, "i", Role.INSPECTOR, compound_ids=frozenset({10}))
    assert before.assigned_on(MONDAY) is None
    assert before.grades_compound(10, MONDAY)
    assert not before.grades_compound(20, MONDAY)
    clerk = Principal(2, "c", Role.CLERK, compound_ids=frozenset({10}))
    assert clerk.grades_compound(10, MONDAY)
    admin = Principal(3, "a", Role.ADMIN)
    assert admin.grades_compound(99, MONDAY)


def test_the_limit_is_a_setting_from_1_to_52(tmp_path: Path) -> None:
    base = {PREFIX + "DATABASE_URL": str(tmp_path / "x.sqlite"), PREFIX + "SECRET_KEY": "s" * 32}
    assert Settings.from_env(base).rotation_weeks_max == 4
    assert Settings.from_env(base | {PREFIX + "ROTATION_WEEKS_MAX": "6"}).rotation_weeks_max == 6
    for bad in ("0", "53", "four"):
        with pytest.raises(ConfigError, match="ROTATION_WEEKS_MAX"):
            Settings.from_env(base | {PREFIX + "ROTATION_WEEKS_MAX": bad})
