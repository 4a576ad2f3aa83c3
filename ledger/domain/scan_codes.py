"""Signed QR payloads: compact, versioned, keyed by id so keys can rotate.

A token reads `1h.7ps.1.a.<mac>`: format version 1 and kind letter, the id and card serial in
base 36, the key id, and an HMAC-SHA256 tag (96 bits, base64url) over everything before it.
Short tokens make small, easily scanned QR codes on sticker paper.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ledger.domain.errors import CodeForged, CodeMalformed, CodeWrongKind

FORMAT_VERSION = "1"
_MAC_BYTES = 12
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class CodeKind(StrEnum):
    HOUSEHOLD = "household"
    POINT = "point"
    POST = "post"


_LETTER = {CodeKind.HOUSEHOLD: "h", CodeKind.POINT: "p", CodeKind.POST: "s"}
_KIND_BY_LETTER = {letter: kind for kind, letter in _LETTER.items()}


@dataclass(frozen=True, slots=True)
class ScanCode:
    kind: CodeKind
    subject_id: int
    card_serial: int


@dataclass(frozen=True, slots=True)
class Keyring:
    """Signing keys by key id; the current one signs, all listed ones verify."""

    current_key_id: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        assert self.current_key_id in self.keys, "the current key must be in the keyring"
        assert all(kid.isalnum() for kid in self.keys), "key ids are alphanumeric"


def sign(code: ScanCode, keyring: Keyring) -> str:
    """Encode and sign a code with the current key."""
    body = ".".join(
        (
            FORMAT_VERSION + _LETTER[code.kind],
            _base36(code.subject_id),
            _base36(code.card_serial),
            keyring.current_key_id,
        )
    )
    return f"{body}.{_mac(keyring.keys[keyring.current_key_id], body)}"


def read(token: str, keyring: Keyring, expected: CodeKind | None = None) -> ScanCode:
    """Verify a token's signature and kind; the card serial is checked against the registry."""
    if not token.isascii():
        raise CodeMalformed("a printed code has only ASCII letters, digits and dots")
    parts = token.split(".")
    if len(parts) != 5 or len(parts[0]) != 2 or parts[0][0] != FORMAT_VERSION:
        raise CodeMalformed("not a code printed by this system")
    head, id_text, serial_text, key_id, tag = parts
    kind = _KIND_BY_LETTER.get(head[1])
    if kind is None:
        raise CodeMalformed("unknown code kind")
    key = keyring.keys.get(key_id)
    expected_tag = _mac(key, token.rpartition(".")[0]) if key is not None else ""
    if key is None or not hmac.compare_digest(tag, expected_tag):
        raise CodeForged("the code's signature is not valid")
    code = ScanCode(kind=kind, subject_id=_parse36(id_text), card_serial=_parse36(serial_text))
    if expected is not None and kind is not expected:
        raise CodeWrongKind(f"this is a {kind} code, expected a {expected} code")
    return code


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _base36(number: int) -> str:
    assert number >= 0, "ids and serials are not negative"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if number == 0:
            return text


def _parse36(text: str) -> int:
    if not text or len(text) > 12 or any(ch not in _DIGITS for ch in text):
        raise CodeMalformed("bad number in code")
    return int(text, 36)
