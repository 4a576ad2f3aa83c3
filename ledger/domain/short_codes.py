"""Short codes printed under a QR code, for a person to type: digits only, with a check digit.

A short code is nine random digits and a Damm check digit, printed grouped (`2031 4417 06`).
The Damm check digit catches every single-digit typo and every swap of two neighbouring
digits. The nine digits are random, not a sequence, so one card's code says nothing about
its neighbours'; they are still guessable, which is why only staff may type them
(docs/decisions/2026-12-06-short-codes.md).
"""

from __future__ import annotations

import re

from ledger.domain.errors import InvalidShortCode

RANDOM_DIGITS = 9
LENGTH = RANDOM_DIGITS + 1
RANDOM_SPACE = 10**RANDOM_DIGITS
GROUPS = (4, 4, 2)
_IGNORED = " -"
# At least one ASCII digit; nothing but ASCII digits and the characters `_IGNORED`.
_KEPT = f"[0-9{re.escape(_IGNORED)}]*"
_TYPED = re.compile(f"{_KEPT}[0-9]{_KEPT}")

# Damm's totally anti-symmetric quasigroup of order 10 (H. M. Damm, 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def check_digit(digits: str) -> str:
    """The Damm check digit of a string of decimal digits."""
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return str(interim)


def is_valid(digits: str) -> bool:
    """The last digit is the Damm check digit of the others."""
    return digits.isascii() and digits.isdigit() and check_digit(digits) == "0"


def code_from(number: int) -> str:
    """The short code for a random number below `RANDOM_SPACE` (drawn by the caller)."""
    assert 0 <= number < RANDOM_SPACE, "nine random digits"
    body = f"{number:0{RANDOM_DIGITS}d}"
    return body + check_digit(body)


def looks_typed(text: str) -> bool:
    """Digits with spaces or dashes: a typed short code. A signed token always has dots.
    (Every scanned token of a grading asks: one regex, not a loop over its characters.)"""
    return _TYPED.fullmatch(text) is not None


def normalize(text: str) -> str:
    """The digits of a typed code, spaces and dashes dropped; refused unless it checks out."""
    digits = "".join(ch for ch in text if ch not in _IGNORED)
    if len(digits) != LENGTH or not is_valid(digits):
        raise InvalidShortCode(
            f"a short code has {LENGTH} digits and its last one is a check digit; "
            "this one does not check out: look at the card again"
        )
    return digits


def grouped(code: str) -> str:
    """`2031441706` -> `2031 4417 06`, as printed."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(code[start : start + size])
        start += size
    return " ".join(part for part in parts if part)
