"""When a reward may be redeemed and for how much; lots taken oldest first; when lots expire."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from ledger.domain.entries import AMOUNT_POINTS_MAX
from ledger.domain.errors import InsufficientPoints, InvalidInput
from ledger.domain.lots import OpenLot, consumption, expires_on
from ledger.domain.rewards import (
    QUANTITY_MAX,
    LimitReached,
    OutOfStock,
    RewardInactive,
    RewardTerms,
    check_dates,
    check_weekdays,
    parse_weekdays_text,
    redemption_points,
    weekdays_text,
)

TERMS = RewardTerms(
    cost_points=30,
    monthly_limit_per_household=None,
    active=True,
    active_from=None,
    active_until=None,
    exchange_weekdays=frozenset(),
)
WEDNESDAY = date(2026, 11, 25)


# -- redemption_points ------------------------------------------------------------------------


def test_an_active_reward_costs_its_price_times_the_quantity() -> None:
    assert redemption_points(TERMS, 1, WEDNESDAY, 0) == 30
    assert redemption_points(TERMS, 7, WEDNESDAY, 0) == 210


def test_a_retired_reward_is_inactive() -> None:
    with pytest.raises(RewardInactive) as refused:
        redemption_points(replace(TERMS, active=False), 1, WEDNESDAY, 0)
    assert refused.value.code == "reward_inactive"


def test_active_dates_are_inclusive_at_both_ends() -> None:
    terms = replace(TERMS, active_from=date(2026, 11, 1), active_until=date(2026, 11, 30))
    assert redemption_points(terms, 1, date(2026, 11, 1), 0) == 30
    assert redemption_points(terms, 1, date(2026, 11, 30), 0) == 30


def test_before_the_first_active_day_is_inactive() -> None:
    terms = replace(TERMS, active_from=date(2026, 11, 1))
    with pytest.raises(RewardInactive, match="from 2026-11-01"):
        redemption_points(terms, 1, date(2026, 10, 31), 0)


def test_after_the_last_active_day_is_inactive() -> None:
    terms = replace(TERMS, active_until=date(2026, 11, 30))
    with pytest.raises(RewardInactive, match="until 2026-11-30"):
        redemption_points(terms, 1, date(2026, 12, 1), 0)


def test_exchange_days_allow_only_those_iso_weekdays() -> None:
    terms = replace(TERMS, exchange_weekdays=frozenset({3, 6}))  # Wednesday, Saturday
    assert redemption_points(terms, 1, WEDNESDAY, 0) == 30
    assert redemption_points(terms, 1, WEDNESDAY + timedelta(days=3), 0) == 30
    with pytest.raises(RewardInactive, match="周三、周六") as refused:
        redemption_points(terms, 1, WEDNESDAY + timedelta(days=1), 0)
    assert refused.value.code == "reward_inactive"


def test_sunday_is_weekday_7() -> None:
    sunday = date(2026, 11, 29)
    assert redemption_points(replace(TERMS, exchange_weekdays=frozenset({7})), 1, sunday, 0) == 30
    with pytest.raises(RewardInactive, match="周日"):
        redemption_points(replace(TERMS, exchange_weekdays=frozenset({7})), 1, WEDNESDAY, 0)


def test_no_exchange_days_means_every_day() -> None:
    for offset in range(7):
        assert redemption_points(TERMS, 1, WEDNESDAY + timedelta(days=offset), 0) == 30


@pytest.mark.parametrize(
    ("already", "quantity"),
    [
        pytest.param(0, 3, id="whole-limit-at-once"),
        pytest.param(2, 1, id="last-one"),
        pytest.param(0, 1, id="first-one"),
    ],
)
def test_up_to_the_monthly_limit_is_allowed(already: int, quantity: int) -> None:
    terms = replace(TERMS, monthly_limit_per_household=3)
    assert redemption_points(terms, quantity, WEDNESDAY, already) == 30 * quantity


@pytest.mark.parametrize(
    ("already", "quantity"),
    [
        pytest.param(3, 1, id="limit-used"),
        pytest.param(2, 2, id="one-over"),
        pytest.param(0, 4, id="too-many-at-once"),
    ],
)
def test_beyond_the_monthly_limit_is_refused(already: int, quantity: int) -> None:
    terms = replace(TERMS, monthly_limit_per_household=3)
    with pytest.raises(LimitReached) as refused:
        redemption_points(terms, quantity, WEDNESDAY, already)
    assert refused.value.code == "limit_reached"
    assert refused.value.extra == {"limit": 3, "redeemed": already, "quantity": quantity}


def test_every_refusal_that_applies_is_named_with_its_numbers() -> None:
    """20 of a limited reward, beyond the balance: the limit stays the `code`, the balance's
    shortfall rides along (issue 13 #5)."""
    terms = replace(TERMS, monthly_limit_per_household=3)
    with pytest.raises(LimitReached) as refused:
        redemption_points(terms, 20, WEDNESDAY, 1, balance_points=100, stock=50)
    assert refused.value.extra["limit"] == 3
    assert refused.value.extra["also_refused"] == [
        {
            "code": "insufficient_points",
            "detail": "the balance is 100 points, 600 needed",
            "balance_points": 100,
            "needed_points": 600,
            "short_points": 500,
        }
    ]


def test_stock_and_balance_are_refused_together_when_both_fall_short() -> None:
    with pytest.raises(OutOfStock) as refused:
        redemption_points(TERMS, 5, WEDNESDAY, 0, balance_points=0, stock=2)
    assert refused.value.extra["stock"] == 2
    assert [r["code"] for r in refused.value.extra["also_refused"]] == ["insufficient_points"]


def test_one_refusal_carries_no_others() -> None:
    with pytest.raises(InsufficientPoints) as refused:
        redemption_points(TERMS, 1, WEDNESDAY, 0, balance_points=29, stock=5)
    assert refused.value.extra == {"balance_points": 29, "needed_points": 30, "short_points": 1}


def test_enough_of_everything_costs_the_points() -> None:
    assert redemption_points(TERMS, 2, WEDNESDAY, 0, balance_points=60, stock=2) == 60


def test_no_limit_means_any_number_a_month() -> None:
    assert redemption_points(TERMS, QUANTITY_MAX, WEDNESDAY, 10_000) == 30 * QUANTITY_MAX


@pytest.mark.parametrize("quantity", [0, -1, QUANTITY_MAX + 1])
def test_a_quantity_outside_its_bounds_is_invalid(quantity: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        redemption_points(TERMS, quantity, WEDNESDAY, 0)
    assert refused.value.extra == {"field": "quantity"}


def test_quantity_bounds_are_inclusive() -> None:
    assert redemption_points(TERMS, 1, WEDNESDAY, 0) == 30
    assert redemption_points(TERMS, QUANTITY_MAX, WEDNESDAY, 0) == 30 * QUANTITY_MAX


def test_a_bad_quantity_is_reported_before_an_inactive_reward() -> None:
    with pytest.raises(InvalidInput):
        redemption_points(replace(TERMS, active=False), 0, WEDNESDAY, 0)


def test_inactive_is_reported_before_the_limit() -> None:
    terms = replace(TERMS, active=False, monthly_limit_per_household=1)
    with pytest.raises(RewardInactive):
        redemption_points(terms, 1, WEDNESDAY, 1)


def test_a_cost_beyond_one_entrys_bound_is_refused() -> None:
    terms = replace(TERMS, cost_points=AMOUNT_POINTS_MAX)
    assert redemption_points(terms, 1, WEDNESDAY, 0) == AMOUNT_POINTS_MAX
    with pytest.raises(InvalidInput, match="amount_points"):
        redemption_points(terms, 2, WEDNESDAY, 0)


def test_weekdays_are_distinct_iso_days() -> None:
    assert check_weekdays([1, 7]) == frozenset({1, 7})
    assert check_weekdays([]) == frozenset()
    for bad in ([0], [8], [1, 1]):
        with pytest.raises(InvalidInput, match="exchange_weekdays"):
            check_weekdays(bad)


def test_weekdays_round_trip_through_their_text() -> None:
    days = frozenset({6, 1, 3})
    assert weekdays_text(days) == "1,3,6"
    assert parse_weekdays_text(weekdays_text(days)) == days
    assert parse_weekdays_text("") == frozenset()


def test_active_until_may_not_precede_active_from() -> None:
    check_dates(date(2026, 1, 1), date(2026, 1, 1))
    check_dates(None, date(2026, 1, 1))
    with pytest.raises(InvalidInput, match="active_until"):
        check_dates(date(2026, 1, 2), date(2026, 1, 1))


# -- lots ------------------------------------------------------------------------------------


def _lots(*remaining: int) -> list[OpenLot]:
    return [OpenLot(lot_id=n + 1, remaining_points=points) for n, points in enumerate(remaining)]


def test_consumption_takes_from_the_first_lot_when_it_covers_the_amount() -> None:
    assert consumption(_lots(50, 40), 30) == [(1, 30)]


def test_consumption_empties_older_lots_before_touching_newer_ones() -> None:
    assert consumption(_lots(10, 20, 30), 35) == [(1, 10), (2, 20), (3, 5)]


def test_consumption_of_everything_takes_every_lot_whole() -> None:
    assert consumption(_lots(10, 20, 30), 60) == [(1, 10), (2, 20), (3, 30)]


def test_consumption_stops_exactly_at_a_lot_boundary() -> None:
    assert consumption(_lots(10, 20, 30), 30) == [(1, 10), (2, 20)]


def test_consumption_skips_empty_lots() -> None:
    assert consumption(_lots(0, 5, 0, 5), 7) == [(2, 5), (4, 2)]


def test_consumption_follows_the_order_given() -> None:
    lots = [OpenLot(9, 5), OpenLot(2, 5)]
    assert consumption(lots, 6) == [(9, 5), (2, 1)]


def test_consumption_beyond_the_lots_is_a_bug() -> None:
    with pytest.raises(AssertionError):
        consumption(_lots(10, 20), 31)


@pytest.mark.parametrize(
    "earned_on",
    [date(2026, 1, 1), date(2026, 2, 28), date(2026, 6, 30), date(2026, 12, 31)],
    ids=str,
)
def test_points_earned_any_day_of_2026_expire_at_the_end_of_2027(earned_on: date) -> None:
    assert expires_on(earned_on) == date(2027, 12, 31)


def test_every_day_of_2026_expires_on_2027_12_31() -> None:
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert expires_on(day) == date(2027, 12, 31)
        day += timedelta(days=1)


def test_the_expiry_rule_years_are_a_parameter() -> None:
    assert expires_on(date(2024, 2, 29)) == date(2025, 12, 31)
    assert expires_on(date(2026, 5, 1), years_after=0) == date(2026, 12, 31)
    assert expires_on(date(2026, 5, 1), years_after=2) == date(2028, 12, 31)
