"""Mobile numbers and PINs: how people who join by themselves sign in (issue 15).

A PIN account signs in with its mainland mobile number as the username and a 6-digit PIN as
the password. A PIN is short, so it is only safe with a small daily guess allowance (see
`SIGN_IN_POLICIES["pin"]`) and without the PINs everyone tries first.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets

from ledger.domain.errors import InvalidInput

PIN_LENGTH = 6
# Mainland mobile numbers: 11 digits, 1 then 3-9 (China's numbering plan for mobile networks).
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-]")
# PINs people choose first, beyond the patterns `_trivial` finds (runs and repeats).
_COMMON_PINS = frozenset({"520520", "521521", "131420", "147258", "258369", "159753", "123321"})


def parse_phone(text: str, field: str = "phone") -> str:
    """The 11-digit mobile number in `text`: spaces and dashes are ignored, and so is a
    leading +86 or 0086 country code."""
    digits = _SEPARATORS.sub("", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if not (digits.isascii() and _MOBILE.fullmatch(digits)):
        raise InvalidInput(field, "must be a mainland mobile number: 11 digits starting with 13-19")
    return digits


def mask_phone(phone: str) -> str:
    """138****5678: how a number is shown to anyone but its owner and admins."""
    if len(phone) != 11:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def phone_digest(phone: str, salt: str) -> str:
    """What an idempotency record keeps to tell two numbers apart without keeping either:
    the SHA-256 hex of the number salted with the event id (a resend with the same id and
    number gives the same digest; the same number under two ids gives unrelated ones)."""
    return hashlib.sha256(f"{salt}:{phone}".encode()).hexdigest()


def check_pin(pin: str, field: str = "pin") -> str:
    """A PIN is 6 ASCII digits and not one of the first ones a guesser tries."""
    if len(pin) != PIN_LENGTH or not (pin.isascii() and pin.isdigit()):
        raise InvalidInput(field, f"must be {PIN_LENGTH} digits")
    if _trivial(pin):
        raise InvalidInput(field, "is too easy to guess (a run, a repeat or a common PIN)")
    return pin


def _trivial(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if len(steps) == 1 and steps.pop() in (-1, 0, 1):  # 000000, 123456, 654321
        return True
    repeats = any(pin == pin[:size] * (PIN_LENGTH // size) for size in (1, 2, 3))  # 121212, 123123
    pairs = len(set(pin[0::2])) == 3 and pin[0::2] == pin[1::2]  # 112233
    return repeats or pairs or pin in _COMMON_PINS


JOIN_CODE_LENGTH = 6


def check_join_code(text: str, field: str = "join_code") -> str:
    """A household's join code as typed from its card sheet: 6 digits (spaces ignored)."""
    code = _SEPARATORS.sub("", text)
    if len(code) != JOIN_CODE_LENGTH or not (code.isascii() and code.isdigit()):
        raise InvalidInput(
            field, f"must be the {JOIN_CODE_LENGTH} digits printed on the card sheet"
        )
    return code


def draw_join_code() -> str:
    """A household's new join code, from the OS's random source."""
    return f"{secrets.randbelow(10**JOIN_CODE_LENGTH):0{JOIN_CODE_LENGTH}d}"
