"""The books' pure parts: sorting entry sums into columns, months, yuan (issue 19 part 1)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from ledger.domain.books import (
    KindSum,
    estimate_fen,
    fen_of_yuan,
    fen_per_point,
    months,
    reorder_due,
    sort_flows,
    yuan_text,
)
from ledger.domain.errors import InvalidInput


def test_reversals_count_against_what_they_reverse() -> None:
    flows = sort_flows(
        [
            KindSum("inspection", None, 30, 0),
            KindSum("reversal", "inspection", -10, 0),  # an upheld appeal
            KindSum("adjustment", None, -5, 0),  # a debit back to issuance
            KindSum("redemption", None, -100, 0),
            KindSum("reversal", "redemption", 40, 0),  # a refund
            KindSum("payment", None, -25, 25),
            KindSum("settlement", None, 0, -20),
            KindSum("expiry", None, -7, 0),
        ]
    )
    assert flows.issued == {
        "gradings": 20,
        "weighins": 0,
        "dropoffs": 0,
        "hours": 0,
        "adjustments": -5,
    }
    assert (flows.redeemed, flows.paid, flows.expired, flows.settled) == (60, 25, 7, 20)
    assert (flows.unsorted, flows.held_change, flows.merchants_change) == (0, -77, 5)


def test_a_kind_the_books_do_not_know_is_unsorted() -> None:
    assert sort_flows([KindSum("bonus", None, 9, 0)]).unsorted == 9


def test_months_are_clipped_to_the_period() -> None:
    assert months(date(2026, 11, 20), date(2027, 1, 5)) == [
        (date(2026, 11, 20), date(2026, 12, 1)),
        (date(2026, 12, 1), date(2027, 1, 1)),
        (date(2027, 1, 1), date(2027, 1, 6)),
    ]


def test_yuan_and_fen() -> None:
    assert [fen_of_yuan(t) for t in ("12", "12.5", "12.50", "0.07")] == [1200, 1250, 1250, 7]
    for bad in ("", "-1", "1.234", "１２", "1e3", ".5", "1,5"):
        with pytest.raises(InvalidInput, match="cost_yuan"):
            fen_of_yuan(bad)
    assert (yuan_text(1250), yuan_text(7), yuan_text(-1500), yuan_text(None)) == (
        "12.50",
        "0.07",
        "-15.00",
        None,
    )


def test_the_estimate_rounds_half_up_to_the_fen() -> None:
    rate = fen_per_point(250, 30)
    assert rate == Fraction(25, 3)
    assert estimate_fen(70, rate) == 583  # 583.33…
    assert estimate_fen(3, Fraction(1, 2)) == 2  # 1.5 → 2
    assert fen_per_point(100, 0) is None
    assert estimate_fen(70, None) is None


def test_reorder_at_or_below_the_threshold() -> None:
    assert (reorder_due(2, 2), reorder_due(3, 2), reorder_due(0, None)) == (True, False, False)
