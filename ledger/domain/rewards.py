"""Rewards: when one may be redeemed, and for how many points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.domain.entries import check_amount
from ledger.domain.errors import InvalidInput, LedgerError

QUANTITY_MAX = 100
WEEKDAY_NAMES = "一二三四五六日"


class RewardInactive(LedgerError):
    """A reward is redeemed only while active, between its dates, on its exchange days."""

    code = "reward_inactive"


class OutOfStock(LedgerError):
    code = "out_of_stock"


class LimitReached(LedgerError):
    """A household may redeem a reward at most `monthly_limit_per_household` times a month."""

    code = "limit_reached"


class NothingToSettle(LedgerError):
    code = "nothing_to_settle"


@dataclass(frozen=True, slots=True)
class RewardTerms:
    cost_points: int
    monthly_limit_per_household: int | None
    active: bool
    active_from: date | None
    active_until: date | None
    exchange_weekdays: frozenset[int]  # ISO weekdays 1-7; empty means every day


def redemption_points(
    terms: RewardTerms, quantity: int, today: date, redeemed_this_month: int
) -> int:
    """Check everything but stock and balance (those are conditional updates); return the cost."""
    if not 1 <= quantity <= QUANTITY_MAX:
        raise InvalidInput("quantity", f"must be between 1 and {QUANTITY_MAX}")
    if not terms.active:
        raise RewardInactive("this reward has been retired")
    if terms.active_from and today < terms.active_from:
        raise RewardInactive(f"this reward can be redeemed from {terms.active_from}")
    if terms.active_until and today > terms.active_until:
        raise RewardInactive(f"this reward could be redeemed until {terms.active_until}")
    if terms.exchange_weekdays and today.isoweekday() not in terms.exchange_weekdays:
        days = "、".join(f"周{WEEKDAY_NAMES[d - 1]}" for d in sorted(terms.exchange_weekdays))
        raise RewardInactive(f"this reward is exchanged on {days} only")
    limit = terms.monthly_limit_per_household
    if limit is not None and redeemed_this_month + quantity > limit:
        raise LimitReached(
            f"{redeemed_this_month} of {limit} already redeemed this month",
            limit=limit,
            redeemed=redeemed_this_month,
        )
    points = terms.cost_points * quantity
    check_amount(points)
    return points


def check_weekdays(days: list[int]) -> frozenset[int]:
    if any(not 1 <= day <= 7 for day in days) or len(set(days)) != len(days):
        raise InvalidInput("exchange_weekdays", "distinct ISO weekdays, 1 (Monday) to 7 (Sunday)")
    return frozenset(days)


def check_dates(active_from: date | None, active_until: date | None) -> None:
    if active_from and active_until and active_until < active_from:
        raise InvalidInput("active_until", "must not be before active_from")


def weekdays_text(days: frozenset[int]) -> str:
    return ",".join(str(day) for day in sorted(days))


def parse_weekdays_text(text: str) -> frozenset[int]:
    return frozenset(int(part) for part in text.split(",") if part)
