"""The pure arithmetic of earning: grades, caps, weights, minutes, stars, rules, local days."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from ledger.domain.earning import (
    award_for_grade,
    award_for_weighin,
    check_minutes_for_day,
    minutes_within_daily_max,
    next_star_hours,
    points_for_minutes,
    points_for_weighin,
    shift_minutes,
    star_level,
)
from ledger.domain.errors import InvalidInput, TooManyMinutes
from ledger.domain.localtime import day_bounds, local_day, minute_of_day
from ledger.domain.rules import DEFAULT_RULES, EarningRules, Grade, Material, parse_rules

RULES = DEFAULT_RULES


# --- grades and the daily cap ----------------------------------------------------------------


@pytest.mark.parametrize(("grade", "points"), [(Grade.GOOD, 10), (Grade.FAIR, 5), (Grade.POOR, 0)])
def test_the_first_grade_of_a_stream_scores_its_points(grade: Grade, points: int) -> None:
    award = award_for_grade(grade, RULES, already_scored=False, points_today=0)
    assert (award.points, award.scored, award.capped) == (points, True, False)
    assert award.explanation() == "credited"


def test_a_second_grade_of_the_same_stream_and_day_is_recorded_but_earns_nothing() -> None:
    award = award_for_grade(Grade.GOOD, RULES, already_scored=True, points_today=10)
    assert (award.points, award.scored, award.capped) == (0, False, False)
    assert "earns 0" in award.explanation()


def test_a_grade_that_lands_exactly_on_the_cap_is_not_cut() -> None:
    award = award_for_grade(Grade.GOOD, RULES, already_scored=False, points_today=20)
    assert (award.points, award.capped) == (10, False)


def test_a_grade_past_the_cap_is_cut_to_what_is_left() -> None:
    award = award_for_grade(Grade.GOOD, RULES, already_scored=False, points_today=25)
    assert (award.points, award.scored, award.capped) == (5, True, True)
    assert "cap" in award.explanation()


def test_a_grade_once_the_cap_is_reached_earns_zero_and_says_so() -> None:
    award = award_for_grade(Grade.FAIR, RULES, already_scored=False, points_today=30)
    assert (award.points, award.scored, award.capped) == (0, True, True)


def test_a_poor_grade_at_the_cap_is_not_called_capped() -> None:
    award = award_for_grade(Grade.POOR, RULES, already_scored=False, points_today=30)
    assert (award.points, award.capped) == (0, False)


def test_points_beyond_the_cap_never_go_negative() -> None:
    award = award_for_grade(Grade.GOOD, RULES, already_scored=False, points_today=45)
    assert award.points == 0


def test_the_cap_and_grade_points_come_from_the_rules() -> None:
    rules = parse_rules(
        {"grade_points": {"good": 8, "fair": 3, "poor": 1}, "grading_daily_cap_points": 12}
    )
    assert award_for_grade(Grade.GOOD, rules, already_scored=False, points_today=0).points == 8
    assert award_for_grade(Grade.GOOD, rules, already_scored=False, points_today=8).points == 4
    assert award_for_grade(Grade.POOR, rules, already_scored=False, points_today=0).points == 1


# --- weigh-ins -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("material", "grams", "points"),
    [
        (Material.PAPER, 1000, 100),
        (Material.PAPER, 2500, 250),
        (Material.PAPER, 9, 0),  # 0.9 points round down
        (Material.PAPER, 10, 1),
        (Material.PLASTIC, 1999, 199),
        (Material.METAL, 1, 0),
        (Material.TEXTILE, 1999, 19),
        (Material.TEXTILE, 99, 0),
        (Material.GLASS, 1999, 9),
        (Material.GLASS, 200, 1),
        (Material.GLASS, 199, 0),
    ],
)
def test_weighed_points_per_kg_round_down(material: Material, grams: int, points: int) -> None:
    assert points_for_weighin(material, grams, RULES) == points


def test_the_heaviest_allowed_weighin_is_30_kg_and_counts() -> None:
    assert RULES.weighin_grams_max == 30_000
    assert points_for_weighin(Material.PAPER, 30_000, RULES) == 3000
    with pytest.raises(InvalidInput) as caught:
        points_for_weighin(Material.METAL, 30_001, RULES)
    assert caught.value.extra["field"] == "grams"


@pytest.mark.parametrize(
    ("grams", "points_today", "points", "capped"),
    [
        (1000, 0, 100, False),
        (3000, 0, 300, False),  # exactly the cap
        (3010, 0, 300, True),  # one point over: cut to the cap
        (1000, 250, 50, True),  # cut to what is left
        (1000, 200, 100, False),  # reaches the cap exactly
        (1000, 300, 0, True),  # at the cap: recorded, earns nothing
        (1000, 450, 0, True),  # past it (a lower cap in a later version)
        (9, 300, 0, False),  # earns nothing anyway: the cap cut nothing
    ],
)
def test_weighin_points_of_a_day_stop_at_the_cap(
    grams: int, points_today: int, points: int, capped: bool
) -> None:
    assert RULES.weighin_daily_cap_points == 300
    award = award_for_weighin(Material.PAPER, grams, RULES, points_today=points_today)
    assert (award.points, award.capped) == (points, capped)
    assert ("cap" in award.explanation()) is capped


def test_the_weighin_cap_is_a_rule_and_zero_allows_none() -> None:
    rules = parse_rules({"weighin_daily_cap_points": 0})
    assert award_for_weighin(Material.METAL, 5000, rules, points_today=0).points == 0
    rules = parse_rules({"weighin_daily_cap_points": 1000})
    assert award_for_weighin(Material.METAL, 30_000, rules, points_today=900).points == 100


def test_the_weighin_cap_refuses_bad_weights_first() -> None:
    with pytest.raises(InvalidInput) as caught:
        award_for_weighin(Material.PAPER, 0, RULES, points_today=300)
    assert caught.value.extra["field"] == "grams"


@pytest.mark.parametrize("grams", [0, -1, DEFAULT_RULES.weighin_grams_max + 1, 10_000_000])
def test_absurd_weights_are_refused_naming_grams(grams: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        points_for_weighin(Material.PAPER, grams, RULES)
    assert caught.value.extra["field"] == "grams"


def test_the_weight_limit_is_a_rule() -> None:
    rules = parse_rules({"weighin_grams_max": 1000})
    assert points_for_weighin(Material.PAPER, 1000, rules) == 100
    with pytest.raises(InvalidInput):
        points_for_weighin(Material.PAPER, 1001, rules)


# --- volunteer minutes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "served", "left"),
    [(481, 0, 480), (1, 480, 0), (241, 240, 240), (60, 600, 0)],
)
def test_approved_and_back_filled_minutes_never_pass_the_daily_maximum(
    minutes: int, served: int, left: int
) -> None:
    with pytest.raises(TooManyMinutes) as caught:
        check_minutes_for_day(minutes, served, RULES)
    assert caught.value.extra["minutes_left"] == left


@pytest.mark.parametrize(("minutes", "served"), [(480, 0), (240, 240), (0, 480), (1, 479)])
def test_minutes_up_to_the_daily_maximum_pass(minutes: int, served: int) -> None:
    check_minutes_for_day(minutes, served, RULES)


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [
        (0, 0),
        (-60, 0),
        (14 * 60 + 59, 0),
        (15 * 60, 15),
        (29 * 60 + 59, 15),
        (30 * 60, 30),
        (60 * 60 + 44 * 60, 90),
        (60 * 60 + 44 * 60 + 59, 90),
        (60 * 60 + 45 * 60, 105),
        (8 * 3600, 480),
    ],
)
def test_shift_minutes_round_down_to_fifteen(seconds: int, minutes: int) -> None:
    assert shift_minutes(seconds, RULES) == minutes


def test_the_minute_unit_is_a_rule() -> None:
    rules = parse_rules({"shift_minutes_unit": 30, "shift_daily_minutes_max": 480})
    assert shift_minutes(59 * 60, rules) == 30


@pytest.mark.parametrize(
    ("minutes", "today", "counted"),
    [
        (60, 0, 60),
        (480, 0, 480),
        (540, 0, 480),
        (120, 420, 60),
        (120, 480, 0),
        (60, 600, 0),  # more than the maximum already counted: nothing, never negative
    ],
)
def test_minutes_within_the_daily_maximum(minutes: int, today: int, counted: int) -> None:
    assert minutes_within_daily_max(minutes, today, RULES) == counted


@pytest.mark.parametrize(
    ("minutes", "per_hour", "points"),
    [(60, 10, 10), (90, 10, 15), (45, 10, 7), (15, 10, 2), (0, 10, 0), (480, 10, 80), (600, 0, 0)],
)
def test_points_for_minutes_pro_rata_rounded_down(minutes: int, per_hour: int, points: int) -> None:
    assert points_for_minutes(minutes, per_hour) == points


@pytest.mark.parametrize(
    ("minutes", "level", "next_hours"),
    [
        (0, 0, 100),
        (99 * 60 + 59, 0, 100),
        (100 * 60, 1, 300),
        (299 * 60 + 59, 1, 300),
        (300 * 60, 2, 600),
        (600 * 60, 3, 1000),
        (1000 * 60, 4, 1500),
        (1499 * 60 + 59, 4, 1500),
        (1500 * 60, 5, None),
        (10_000 * 60, 5, None),
    ],
)
def test_star_levels(minutes: int, level: int, next_hours: int | None) -> None:
    assert star_level(minutes) == level
    assert next_star_hours(minutes) == next_hours


# --- rules documents -------------------------------------------------------------------------


def test_an_empty_document_is_the_defaults() -> None:
    assert parse_rules({}) == DEFAULT_RULES
    assert DEFAULT_RULES.grade_points == {"good": 10, "fair": 5, "poor": 0}
    assert DEFAULT_RULES.grading_daily_cap_points == 30
    assert DEFAULT_RULES.dropoff_points == 0
    assert DEFAULT_RULES.weighin_grams_max == 30_000
    assert DEFAULT_RULES.weighin_daily_cap_points == 300
    assert DEFAULT_RULES.shift_daily_minutes_max == 480
    assert dict(DEFAULT_RULES.weighin_points_per_kg) == {
        "paper": 100,
        "plastic": 100,
        "metal": 100,
        "textile": 10,
        "glass": 5,
    }
    assert DEFAULT_RULES.shift_points_per_hour == 10
    assert DEFAULT_RULES.backfill_points_per_hour == 0
    assert DEFAULT_RULES.appeal_days == 7


def test_a_document_round_trips_through_json() -> None:
    rules = parse_rules({"dropoff_points": 2, "backfill_points_per_hour": 5})
    assert parse_rules(rules.to_json()) == rules
    assert isinstance(rules, EarningRules)


def _field_of(document: dict[str, object]) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_rules(document)
    field: str = caught.value.extra["field"]
    assert caught.value.detail.startswith(field)
    return field


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"grade_points": {"good": -1, "fair": 5, "poor": 0}}, "rules.grade_points.good"),
        ({"grade_points": {"good": "10", "fair": 5, "poor": 0}}, "rules.grade_points.good"),
        ({"grade_points": {"good": 10.5, "fair": 5, "poor": 0}}, "rules.grade_points.good"),
        ({"grade_points": {"good": True, "fair": 5, "poor": 0}}, "rules.grade_points.good"),
        ({"grade_points": {"good": 10, "fair": 5}}, "rules.grade_points.poor"),
        (
            {"grade_points": {"good": 10, "fair": 5, "poor": 0, "great": 20}},
            "rules.grade_points.great",
        ),
        ({"grade_points": [10, 5, 0]}, "rules.grade_points"),
        ({"grading_daily_cap_points": -1}, "rules.grading_daily_cap_points"),
        ({"grading_daily_cap_points": False}, "rules.grading_daily_cap_points"),
        ({"grading_daily_cap_points": None}, "rules.grading_daily_cap_points"),
        ({"dropoff_points": 10_001}, "rules.dropoff_points"),
        ({"shift_points_per_hour": True}, "rules.shift_points_per_hour"),
        ({"weighin_grams_max": 0}, "rules.weighin_grams_max"),
        ({"weighin_daily_cap_points": -1}, "rules.weighin_daily_cap_points"),
        ({"weighin_daily_cap_points": 10_001}, "rules.weighin_daily_cap_points"),
        ({"weighin_daily_cap_points": "300"}, "rules.weighin_daily_cap_points"),
        ({"appeal_days": -7}, "rules.appeal_days"),
        ({"bonus_points": 5}, "rules.bonus_points"),
        ({"Grade_Points": {}}, "rules.Grade_Points"),
        (
            {"weighin_points_per_kg": {"paper": 100, "plastic": 100, "metal": 100, "textile": 10}},
            "rules.weighin_points_per_kg.glass",
        ),
        (
            {
                "weighin_points_per_kg": {
                    "paper": 100,
                    "plastic": 100,
                    "metal": 100,
                    "textile": 10,
                    "glass": 5,
                    "wood": 1,
                }
            },
            "rules.weighin_points_per_kg.wood",
        ),
        (
            {
                "weighin_points_per_kg": {
                    "paper": -100,
                    "plastic": 100,
                    "metal": 100,
                    "textile": 10,
                    "glass": 5,
                }
            },
            "rules.weighin_points_per_kg.paper",
        ),
        ({"shift_minutes_unit": 0}, "rules.shift_minutes_unit"),
        (
            {"shift_minutes_unit": 15, "shift_daily_minutes_max": 470},
            "rules.shift_daily_minutes_max",
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_field(document: dict[str, object], field: str) -> None:
    assert _field_of(document) == field


def test_a_rule_at_its_bounds_is_accepted() -> None:
    rules = parse_rules(
        {
            "grade_points": {"good": 10_000, "fair": 0, "poor": 0},
            "grading_daily_cap_points": 0,
            "appeal_days": 0,
            "shift_daily_minutes_max": 24 * 60,
        }
    )
    assert rules.grade_points["good"] == 10_000
    assert rules.grading_daily_cap_points == 0


# --- local days ------------------------------------------------------------------------------


def test_local_midnight_in_hangzhou_is_sixteen_hundred_utc() -> None:
    before = datetime(2026, 11, 25, 15, 59, 59, tzinfo=UTC)
    after = datetime(2026, 11, 25, 16, 0, 0, tzinfo=UTC)
    assert local_day(before) == date(2026, 11, 25)
    assert local_day(after) == date(2026, 11, 26)
    assert minute_of_day(before) == 23 * 60 + 59
    assert minute_of_day(after) == 0


def test_day_bounds_are_local_midnights() -> None:
    start, end = day_bounds(date(2026, 11, 26))
    assert start == datetime(2026, 11, 25, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 26, 16, tzinfo=UTC)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's own clock zone set far from Hangzhou for the length of one test."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_local_days_ignore_the_servers_time_zone() -> None:
    assert time.strftime("%Z", time.localtime()) in {"EST", "EDT"}
    before = datetime(2026, 11, 25, 15, 59, 59, tzinfo=UTC)
    after = datetime(2026, 11, 25, 16, 0, 0, tzinfo=UTC)
    assert local_day(before) == date(2026, 11, 25)
    assert local_day(after) == date(2026, 11, 26)
    # A naive-looking "now" in the server's zone, made aware, lands on the same local day.
    server_local = datetime.fromtimestamp(after.timestamp()).astimezone()
    assert local_day(server_local) == date(2026, 11, 26)
    assert minute_of_day(server_local) == 0


def test_a_naive_instant_is_a_bug() -> None:
    with pytest.raises(AssertionError):
        local_day(datetime(2026, 11, 25, 12, 0))  # noqa: DTZ001
