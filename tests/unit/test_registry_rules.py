"""Opening windows, address parts and the labels printed and shown in public."""

from __future__ import annotations

import pytest

from ledger.domain.errors import InvalidInput
from ledger.domain.registry import (
    ADDRESS_PART_LENGTH_MAX,
    Opening,
    Window,
    check_address_part,
    check_name,
    household_label,
    next_opening,
    parse_windows,
    public_household_label,
)


def test_windows_parse_into_sorted_minutes() -> None:
    windows = parse_windows(["17:30-19:00", "07:00-09:00"])
    assert windows == (Window(7 * 60, 9 * 60), Window(17 * 60 + 30, 19 * 60))
    assert [str(window) for window in windows] == ["07:00-09:00", "17:30-19:00"]


def test_no_windows_is_allowed() -> None:
    assert parse_windows([]) == ()


def test_touching_windows_do_not_overlap() -> None:
    assert len(parse_windows(["07:00-09:00", "09:00-10:00"])) == 2


def test_a_window_may_end_at_midnight() -> None:
    (window,) = parse_windows(["22:00-24:00"])
    assert window.end_minute == 24 * 60
    assert window.contains(23 * 60 + 59)
    assert not window.contains(22 * 60 - 1)


def test_surrounding_spaces_are_ignored() -> None:
    assert parse_windows([" 07:00-09:00 "]) == (Window(420, 540),)


@pytest.mark.parametrize(
    "windows",
    [
        pytest.param(["07:00-09:00", "08:30-10:00"], id="overlapping"),
        pytest.param(["07:00-09:00", "07:00-09:00"], id="repeated"),
        pytest.param(["06:00-12:00", "07:00-08:00"], id="nested"),
    ],
)
def test_overlapping_windows_are_refused(windows: list[str]) -> None:
    with pytest.raises(InvalidInput, match="overlap") as refused:
        parse_windows(windows)
    assert refused.value.extra == {"field": "windows"}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("09:00-07:00", id="reversed"),
        pytest.param("09:00-09:00", id="empty"),
        pytest.param("23:00-24:30", id="past midnight"),
        pytest.param("24:00-24:00", id="starts at 24:00"),
        pytest.param("25:00-26:00", id="hour 25"),
        pytest.param("07:60-08:00", id="minute 60"),
        pytest.param("7:00-9:00", id="one-digit hours"),
        pytest.param("07:00", id="no end"),
        pytest.param("07:00–09:00", id="en dash"),
        pytest.param("morning", id="words"),
        pytest.param("", id="empty text"),
    ],
)
def test_malformed_or_backwards_windows_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_windows([text])
    assert refused.value.code == "validation_error"
    assert refused.value.extra == {"field": "windows"}


def test_the_refusal_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_windows(["bad"], field="rows[3].windows")
    assert refused.value.extra == {"field": "rows[3].windows"}


def test_address_parts_are_trimmed() -> None:
    assert check_address_part("  301 ", "room") == "301"
    assert check_address_part("x" * ADDRESS_PART_LENGTH_MAX, "room") == "x" * 20


@pytest.mark.parametrize(
    "value",
    ["", "   ", "x" * (ADDRESS_PART_LENGTH_MAX + 1), "3,4", "3\n4", "3\t4"],
    ids=["empty", "spaces", "too long", "comma", "newline", "tab"],
)
def test_bad_address_parts_are_refused_with_the_field_named(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_address_part(value, "building")
    assert refused.value.extra == {"field": "building"}


def test_names_are_trimmed_and_bounded() -> None:
    assert check_name(" 信义坊 ") == "信义坊"
    with pytest.raises(InvalidInput):
        check_name(" ")
    with pytest.raises(InvalidInput):
        check_name("x" * 101)


def test_the_card_label_shows_the_full_address() -> None:
    assert household_label("3", "2", "301") == "3幢2单元301室"


def test_the_public_label_masks_the_room() -> None:
    label = public_household_label("3", "2", "301")
    assert label == "3幢2单元***室"
    assert "301" not in label


def test_the_public_label_masks_even_an_empty_room() -> None:
    assert public_household_label("3", "2", "") == "3幢2单元*室"


TWO_WINDOWS = parse_windows(["07:00-09:00", "17:30-19:00"])


@pytest.mark.parametrize(
    ("minute", "opening"),
    [
        pytest.param(8 * 60, None, id="open"),
        pytest.param(6 * 60, Opening("07:00", tomorrow=False), id="before-the-first"),
        pytest.param(9 * 60, Opening("17:30", tomorrow=False), id="between"),
        pytest.param(19 * 60, Opening("07:00", tomorrow=True), id="after-the-last"),
    ],
)
def test_a_closed_point_says_when_it_opens_next(minute: int, opening: Opening | None) -> None:
    assert next_opening(TWO_WINDOWS, minute) == opening


def test_a_point_without_windows_is_always_open() -> None:
    assert next_opening((), 3 * 60) is None
