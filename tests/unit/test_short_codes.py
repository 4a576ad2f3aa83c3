"""Short codes: the Damm check digit catches every single typo and every neighbour swap."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import InvalidShortCode
from ledger.domain.short_codes import (
    LENGTH,
    RANDOM_SPACE,
    check_digit,
    code_from,
    grouped,
    is_valid,
    looks_typed,
    normalize,
)

SAMPLE = [code_from(n) for n in (0, 1, 12345678, 203144170, RANDOM_SPACE - 1)] + [
    code_from(random.Random(seed).randrange(RANDOM_SPACE)) for seed in range(200)
]
numbers = st.integers(min_value=0, max_value=RANDOM_SPACE - 1)


def substitutions(code: str) -> list[str]:
    return [
        code[:i] + other + code[i + 1 :]
        for i, digit in enumerate(code)
        for other in "0123456789"
        if other != digit
    ]


def neighbour_swaps(code: str) -> list[str]:
    return [
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(len(code) - 1)
        if code[i] != code[i + 1]
    ]


def test_the_known_damm_example() -> None:
    assert check_digit("572") == "4"  # Damm's worked example: 572 -> 5724
    assert is_valid("5724")
    assert not is_valid("5274")


def test_a_code_is_ten_digits_and_valid() -> None:
    for code in SAMPLE:
        assert len(code) == LENGTH
        assert code.isdigit()
        assert is_valid(code)


def test_every_single_digit_substitution_is_caught() -> None:
    for code in SAMPLE:
        for typo in substitutions(code):
            assert not is_valid(typo), (code, typo)


def test_every_neighbour_swap_is_caught() -> None:
    for code in SAMPLE:
        for swapped in neighbour_swaps(code):
            assert not is_valid(swapped), (code, swapped)


def test_every_single_error_in_every_two_digit_body_is_caught() -> None:
    """Exhaustive over all 100 two-digit bodies: substitutions anywhere, swaps anywhere."""
    for number in range(100):
        code = f"{number:02d}" + check_digit(f"{number:02d}")
        for wrong in substitutions(code) + neighbour_swaps(code):
            assert not is_valid(wrong), (code, wrong)


@given(numbers, st.integers(0, LENGTH - 1), st.integers(1, 9))
def test_any_substitution_is_caught(number: int, position: int, shift: int) -> None:
    code = code_from(number)
    digit = str((int(code[position]) + shift) % 10)
    assert not is_valid(code[:position] + digit + code[position + 1 :])


@given(numbers, st.integers(0, LENGTH - 2))
def test_any_neighbour_swap_is_caught(number: int, position: int) -> None:
    code = code_from(number)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert swapped == code or not is_valid(swapped)


@given(numbers)
def test_spaces_and_dashes_are_ignored(number: int) -> None:
    code = code_from(number)
    assert normalize(grouped(code)) == code
    assert normalize(f" {code[:3]}-{code[3:7]} - {code[7:]} ") == code


def test_grouped_for_reading() -> None:
    assert grouped("2031441706") == "2031 4417 06"


@pytest.mark.parametrize("text", ["2031441705", "203144170", "20314417060", "0000000001"])
def test_a_code_that_does_not_check_out_is_refused(text: str) -> None:
    assert not is_valid(text) or len(text) != LENGTH
    with pytest.raises(InvalidShortCode):
        normalize(text)


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("2031 4417 06", True),
        ("2031-4417-06", True),
        ("2031441706", True),
        ("1h.7ps.1.a.h_Pt9TBBZ0MxpUIA", False),
        ("   ", False),
        ("２０３１", False),  # full-width digits are not ASCII
        ("", False),
    ],
)
def test_typed_codes_are_told_from_tokens(text: str, typed: bool) -> None:
    assert looks_typed(text) is typed


@given(st.text(alphabet=st.sampled_from("0123456789 -.a_\n٣２"), max_size=14) | st.text(max_size=8))
def test_typed_means_ascii_digits_spaces_and_dashes_with_a_digit(text: str) -> None:
    """The regex says what the definition says, character by character."""
    ascii_digit = [ch.isascii() and ch.isdigit() for ch in text]
    expected = any(ascii_digit) and all(
        d or ch in " -" for d, ch in zip(ascii_digit, text, strict=True)
    )
    assert looks_typed(text) is expected
