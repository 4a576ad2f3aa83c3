"""Rewards: when one may be redeemed, and for how many points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.domain.entries import check_amount
from ledger.domain.errors import InsufficientPoints, InvalidInput, LedgerError, first_of

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
    terms: RewardTerms,
    quantity: int,
    today: date,
    redeemed_this_month: int,
    *,
    balance_points: int | None = None,
    stock: int | None = None,
) -> int:
    """Check everything and return the cost. Every refusal that applies is named (the first
    is raised, the others ride in its `also_refused`), with its numbers. Stock and balance,
    when given, are read under the account's lock; the conditional updates stay the guard."""
    if not 1 <= quantity <= QUANTITY_MAX:
        raise InvalidInput("quantity", f"must be between 1 and {QUANTITY_MAX}")
    points = terms.cost_points * quantity
    refusals = [
        *_inactive(terms, today),
        *_over_limit(terms, quantity, redeemed_this_month),
        *_short_of_stock(quantity, stock),
        *_short_of_points(points, balance_points),
    ]
    if refusals:
        raise first_of(refusals)
    check_amount(points)
    return points


def _inactive(terms: RewardTerms, today: date) -> list[LedgerError]:
    if not terms.active:
        return [RewardInactive("this reward has been retired")]
    if terms.active_from and today < terms.active_from:
        return [RewardInactive(f"this reward can be redeemed from {terms.active_from}")]
    if terms.active_until and today > terms.active_until:
        return [RewardInactive(f"this reward could be redeemed until {terms.active_until}")]
    if terms.exchange_weekdays and today.isoweekday() not in terms.exchange_weekdays:
        days = "、".join(f"周{WEEKDAY_NAMES[d - 1]}" for d in sorted(terms.exchange_weekdays))
        return [RewardInactive(f"this reward is exchanged on {days} only")]
    return []


def _over_limit(terms: RewardTerms, quantity: int, redeemed: int) -> list[LedgerError]:
    limit = terms.monthly_limit_per_household
    if limit is None or redeemed + quantity <= limit:
        return []
    return [
        LimitReached(
            f"{redeemed} of {limit} already redeemed this month, {quantity} asked",
            limit=limit,
            redeemed=redeemed,
            quantity=quantity,
        )
    ]


def _short_of_stock(quantity: int, stock: int | None) -> list[LedgerError]:
    if stock is None or stock >= quantity:
        return []
    return [OutOfStock(f"only {stock} left, {quantity} asked", stock=stock, quantity=quantity)]


def _short_of_points(points: int, balance_points: int | None) -> list[LedgerError]:
    if balance_points is None or balance_points >= points:
        return []
    return [insufficient_points(balance_points, points)]


def insufficient_points(balance_points: int, needed_points: int) -> InsufficientPoints:
    return InsufficientPoints(
        f"the balance is {balance_points} points, {needed_points} needed",
        balance_points=balance_points,
        needed_points=needed_points,
        short_points=needed_points - balance_points,
    )


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
