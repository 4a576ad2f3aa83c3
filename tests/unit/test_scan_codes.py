"""Signed QR payloads: round trips, tampering, kinds and key rotation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import CodeForged, CodeMalformed, CodeWrongKind
from ledger.domain.scan_codes import CodeKind, Keyring, ScanCode, read, sign

OLD_KEY = b"old-key-0123456789-0123456789-0123"
NEW_KEY = b"new-key-0123456789-0123456789-0123"
KEYRING = Keyring(current_key_id="a", keys={"a": OLD_KEY})
ID_MAX = 36**12 - 1  # the reader accepts at most 12 base-36 digits
TOKEN_CHARACTERS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.~!*"


def token_for(
    kind: CodeKind = CodeKind.HOUSEHOLD, subject_id: int = 1234, card_serial: int = 1
) -> str:
    return sign(ScanCode(kind, subject_id, card_serial), KEYRING)


def replace_part(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


@pytest.mark.parametrize("kind", list(CodeKind))
def test_a_signed_code_reads_back_for_each_kind(kind: CodeKind) -> None:
    code = ScanCode(kind, subject_id=987_654, card_serial=3)
    token = sign(code, KEYRING)
    assert read(token, KEYRING) == code
    assert read(token, KEYRING, expected=kind) == code


def test_a_token_is_short_and_has_five_dotted_parts() -> None:
    token = token_for(subject_id=2**53)
    assert len(token.split(".")) == 5
    assert len(token) <= 40


@pytest.mark.parametrize(
    ("index", "value"),
    [
        pytest.param(1, "yz", id="subject id"),
        pytest.param(2, "2", id="card serial"),
        pytest.param(0, "1p", id="kind letter of another real kind"),
        pytest.param(4, "AAAAAAAAAAAAAAAA", id="tag"),
    ],
)
def test_an_altered_genuine_looking_field_is_forged(index: int, value: str) -> None:
    token = token_for()
    altered = replace_part(token, index, value)
    assert altered != token
    with pytest.raises(CodeForged):
        read(altered, KEYRING)


def test_a_truncated_tag_is_forged() -> None:
    with pytest.raises(CodeForged):
        read(token_for()[:-1], KEYRING)


def test_an_unknown_key_id_is_forged() -> None:
    with pytest.raises(CodeForged):
        read(replace_part(token_for(), 3, "z"), KEYRING)


@pytest.mark.parametrize(
    ("index", "value"),
    [
        pytest.param(0, "1x", id="unknown kind letter"),
        pytest.param(0, "2h", id="unknown format version"),
        pytest.param(0, "1hh", id="long head"),
        pytest.param(0, "", id="empty head"),
    ],
)
def test_an_altered_format_field_is_malformed(index: int, value: str) -> None:
    with pytest.raises(CodeMalformed):
        read(replace_part(token_for(), index, value), KEYRING)


def test_a_code_of_another_kind_is_the_wrong_kind() -> None:
    token = token_for(CodeKind.HOUSEHOLD)
    with pytest.raises(CodeWrongKind):
        read(token, KEYRING, expected=CodeKind.POINT)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "hello",
        "https://example.com/q/abc",
        "1h.1.1.a",
        "1h.1.1.a.tag.extra",
        "....",
        "9h.1.1.a.AAAAAAAAAAAAAAAA",
        "1?.1.1.a.AAAAAAAAAAAAAAAA",
        "住户卡.1.1.a.AAAAAAAAAAAAAAAA",
    ],
)
def test_garbage_is_malformed(garbage: str) -> None:
    with pytest.raises(CodeMalformed):
        read(garbage, KEYRING)


def test_a_new_current_key_still_verifies_codes_signed_by_a_listed_old_key() -> None:
    old_token = token_for(subject_id=42)
    rotated = Keyring(current_key_id="b", keys={"a": OLD_KEY, "b": NEW_KEY})
    new_token = sign(ScanCode(CodeKind.HOUSEHOLD, 42, 1), rotated)
    assert new_token.split(".")[3] == "b"
    assert read(old_token, rotated) == ScanCode(CodeKind.HOUSEHOLD, 42, 1)
    assert read(new_token, rotated) == ScanCode(CodeKind.HOUSEHOLD, 42, 1)


def test_codes_signed_by_a_removed_key_are_refused() -> None:
    old_token = token_for(subject_id=42)
    retired = Keyring(current_key_id="b", keys={"b": NEW_KEY})
    with pytest.raises(CodeForged):
        read(old_token, retired)


def test_a_key_id_reused_with_another_secret_refuses_old_codes() -> None:
    with pytest.raises(CodeForged):
        read(token_for(), Keyring(current_key_id="a", keys={"a": NEW_KEY}))


@given(
    kind=st.sampled_from(list(CodeKind)),
    subject_id=st.integers(min_value=0, max_value=ID_MAX),
    card_serial=st.integers(min_value=0, max_value=ID_MAX),
)
def test_any_code_round_trips(kind: CodeKind, subject_id: int, card_serial: int) -> None:
    code = ScanCode(kind, subject_id, card_serial)
    assert read(sign(code, KEYRING), KEYRING, expected=kind) == code


@given(
    subject_id=st.integers(min_value=0, max_value=2**53),
    card_serial=st.integers(min_value=0, max_value=10_000),
    data=st.data(),
)
def test_any_single_character_change_is_refused(
    subject_id: int, card_serial: int, data: st.DataObject
) -> None:
    token = token_for(CodeKind.POINT, subject_id, card_serial)
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="index")
    character = data.draw(
        st.one_of(st.sampled_from(TOKEN_CHARACTERS), st.characters()).filter(
            lambda ch: ch != token[index]
        ),
        label="character",
    )
    changed = token[:index] + character + token[index + 1 :]
    with pytest.raises((CodeForged, CodeMalformed)):
        read(changed, KEYRING)


@pytest.mark.parametrize("character", ["é", "码", "\u00a0", "\ud800"])
def test_a_non_ascii_character_in_the_tag_is_refused_not_crashed(character: str) -> None:
    token = token_for()
    with pytest.raises(CodeMalformed):
        read(token[:-1] + character, KEYRING)
