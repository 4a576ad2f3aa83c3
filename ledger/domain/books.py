"""The books: points as a liability of the scheme (issue 19 part 1).

Points held by households and volunteers are owed to them (a reward or a payment at a shop);
points paid to a merchant are owed to the merchant until settled. The ledger's entries say how
each figure moved; this module only sorts the entries' sums into the report's columns, so that
the same sorting serves the report and `verify`. See docs/decisions/2026-12-06-the-books.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from ledger.domain.errors import InvalidInput

# Entry kinds that issue points, by the report's name for their source.
SOURCES = {
    "inspection": "gradings",
    "weighin": "weighins",
    "dropoff": "dropoffs",
    "shift": "hours",
    "adjustment": "adjustments",
}
SOURCE_NAMES = tuple(SOURCES.values())
COST_FEN_MAX = 100_000_000  # a million yuan a unit: far above any reward
THRESHOLD_MAX = 10_000_000  # the catalogue's stock maximum


@dataclass(frozen=True, slots=True)
class KindSum:
    """Net points into holders' (households', volunteers') and merchants' accounts of the
    entries of one kind (a reversal: with the kind of the entry it reverses)."""

    kind: str
    reversed_kind: str | None
    holders: int
    merchants: int


@dataclass(frozen=True, slots=True)
class Flows:
    """Points moved in a period, sorted: each figure positive in its usual direction."""

    issued: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCE_NAMES, 0))
    redeemed: int = 0
    paid: int = 0
    expired: int = 0
    settled: int = 0
    unsorted: int = 0  # an entry kind the books do not know: `verify` fails on it

    @property
    def issued_total(self) -> int:
        return sum(self.issued.values())

    @property
    def held_change(self) -> int:
        """What holders gained in the period: issued − redeemed − paid − expired."""
        return self.issued_total - self.redeemed - self.paid - self.expired + self.unsorted

    @property
    def merchants_change(self) -> int:
        return self.paid - self.settled


def sort_flows(sums: list[KindSum]) -> Flows:
    """The report's columns from the entries' sums by kind. A reversal counts against what it
    reverses: a corrected grading lowers gradings, a refund lowers redeemed."""
    issued = dict.fromkeys(SOURCE_NAMES, 0)
    redeemed = paid = expired = settled = unsorted = 0
    for row in sums:
        kind = row.reversed_kind if row.kind == "reversal" else row.kind
        if kind in SOURCES:
            issued[SOURCES[kind]] += row.holders
        elif kind == "redemption":
            redeemed -= row.holders
        elif kind == "payment":
            paid += row.merchants
            unsorted += row.holders + row.merchants  # a payment moves holders' points only
        elif kind == "expiry":
            expired -= row.holders
        elif kind == "settlement":
            settled -= row.merchants
            unsorted += row.holders
        else:
            unsorted += row.holders
    return Flows(issued, redeemed, paid, expired, settled, unsorted)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def months(first: date, last: date) -> list[tuple[date, date]]:
    """The local months from `first` to `last` as (first day, day after the last), each clipped
    to the period."""
    spans: list[tuple[date, date]] = []
    start = first
    while start <= last:
        end = min(next_month(start), date.fromordinal(last.toordinal() + 1))
        spans.append((start, end))
        start = end
    return spans


def check_cost_fen(cost_fen: int) -> int:
    if not 0 <= cost_fen <= COST_FEN_MAX:
        raise InvalidInput("cost_fen", f"must be between 0 and {COST_FEN_MAX} fen")
    return cost_fen


def check_threshold(threshold: int) -> int:
    if not 0 <= threshold <= THRESHOLD_MAX:
        raise InvalidInput("threshold", f"must be between 0 and {THRESHOLD_MAX}")
    return threshold


def yuan_text(fen: int | None) -> str | None:
    """12345 fen → "123.45" (yuan, two decimals); None stays None."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def fen_of_yuan(text: str, field: str = "cost_yuan") -> int:
    """ "12", "12.5" or "12.50" yuan → fen; anything else (a sign, a third decimal, letters) is
    refused by name."""
    whole, _, cents = text.strip().partition(".")
    digits = whole + cents
    if not whole or len(cents) > 2 or not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(field, "yuan like 12 or 12.50")
    return check_cost_fen(int(whole) * 100 + int(cents.ljust(2, "0")))


def fen_per_point(value_fen: int, priced_points: int) -> Fraction | None:
    """What a redeemed point cost the scheme, on average, over the redemptions with a cost."""
    return Fraction(value_fen, priced_points) if priced_points > 0 else None


def estimate_fen(points: int, rate: Fraction | None) -> int | None:
    """Outstanding points valued at a rate in fen a point, rounded half up to the fen."""
    if rate is None:
        return None
    value = points * rate
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def reorder_due(stock: int, threshold: int | None) -> bool:
    return threshold is not None and stock <= threshold
