"""Mobile numbers and PINs of people who join by themselves (issue 15)."""

from __future__ import annotations

import pytest

from ledger.domain.errors import InvalidInput
from ledger.domain.phones import check_pin, mask_phone, parse_phone


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 19912345678", "19912345678"),
    ],
)
def test_a_mainland_mobile_number_is_read_with_separators_and_country_code(
    text: str, phone: str
) -> None:
    assert parse_phone(text) == phone


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1380013800",
        "138001380001",
        "12800138000",
        "23800138000",
        "１３８００１３８０００",
        "1380013800x",
    ],
)
def test_anything_else_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"^phone: "):
        parse_phone(text)


def test_a_number_is_masked_but_for_its_first_three_and_last_four_digits() -> None:
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize(
    "pin",
    ["000000", "999999", "123456", "234567", "654321", "121212", "123123", "112233", "520520"],
)
def test_trivial_pins_are_refused(pin: str) -> None:
    with pytest.raises(InvalidInput, match=r"^pin: .*easy"):
        check_pin(pin)


@pytest.mark.parametrize("pin", ["12345", "1234567", "12345a", "１２８４９３", ""])
def test_a_pin_is_six_ascii_digits(pin: str) -> None:
    with pytest.raises(InvalidInput, match=r"^pin: must be 6 digits"):
        check_pin(pin)


@pytest.mark.parametrize("pin", ["284913", "135790", "111112", "907346"])
def test_other_pins_are_taken(pin: str) -> None:
    assert check_pin(pin) == pin
