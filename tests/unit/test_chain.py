"""The hash chain commits to every stored field of every sealed entry."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.chain import GENESIS_HASH, SealableEntry, seal_hash

CREATED_AT = datetime(2026, 11, 25, 2, 0, 0, 123_456, tzinfo=UTC)


def make_sealable(**overrides: Any) -> SealableEntry:
    fields: dict[str, Any] = {
        "entry_id": 10,
        "community_id": 1,
        "debit_account_id": 2,
        "credit_account_id": 3,
        "amount_points": 30,
        "kind": "adjustment",
        "debit_balance_after": -30,
        "credit_balance_after": 30,
        "event_id": "evt-1",
        "reverses_entry_id": None,
        "rule_version": None,
        "actor": "admin",
        "memo": "paper book 2026-11",
        "created_at": CREATED_AT,
    }
    return SealableEntry(**(fields | overrides))


CHANGED: dict[str, Any] = {
    "entry_id": 11,
    "community_id": 2,
    "debit_account_id": 4,
    "credit_account_id": 5,
    "amount_points": 31,
    "kind": "reversal",
    "debit_balance_after": -31,
    "credit_balance_after": 31,
    "event_id": "evt-2",
    "reverses_entry_id": 9,
    "rule_version": 1,
    "actor": "admin2",
    "memo": "paper book 2026-12",
    "created_at": CREATED_AT + timedelta(microseconds=1),
    "captured_at": CREATED_AT - timedelta(minutes=3),
}


def test_every_field_has_a_change_under_test() -> None:
    assert set(CHANGED) == {field.name for field in dataclasses.fields(SealableEntry)}


@pytest.mark.parametrize(("name", "value"), CHANGED.items(), ids=list(CHANGED))
def test_changing_any_field_changes_the_seal(name: str, value: Any) -> None:
    original = make_sealable()
    assert seal_hash(GENESIS_HASH, 1, make_sealable(**{name: value})) != seal_hash(
        GENESIS_HASH, 1, original
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("event_id", None), ("reverses_entry_id", None), ("rule_version", None), ("memo", "")],
)
def test_clearing_an_optional_field_changes_the_seal(name: str, value: Any) -> None:
    changed = {"reverses_entry_id": 9, "rule_version": 2} | {name: value}
    before = make_sealable(reverses_entry_id=9, rule_version=2)
    assert seal_hash(GENESIS_HASH, 1, make_sealable(**changed)) != seal_hash(
        GENESIS_HASH, 1, before
    )


def test_an_entry_without_a_capture_time_seals_as_before_capture_times_existed() -> None:
    """Entries sealed before issue 14 keep their hashes: the text is the 14 fields it was."""
    entry = make_sealable()
    old_text = json.dumps(
        [10, 1, 2, 3, 30, "adjustment", -30, 30, "evt-1", None, None, "admin",
         "paper book 2026-11", 1795572000123456],
        separators=(",", ":"),
    )  # fmt: skip
    expected = hashlib.sha256(f"{GENESIS_HASH}|1|{old_text}".encode()).hexdigest()
    assert seal_hash(GENESIS_HASH, 1, entry) == expected


def test_a_capture_time_equal_to_the_server_time_still_seals_differently() -> None:
    assert seal_hash(GENESIS_HASH, 1, make_sealable(captured_at=CREATED_AT)) != seal_hash(
        GENESIS_HASH, 1, make_sealable()
    )


def test_a_null_event_id_and_an_empty_one_seal_differently() -> None:
    assert seal_hash(GENESIS_HASH, 1, make_sealable(event_id=None)) != seal_hash(
        GENESIS_HASH, 1, make_sealable(event_id="")
    )


def test_the_seal_depends_on_the_previous_hash_and_the_seal_number() -> None:
    entry = make_sealable()
    first = seal_hash(GENESIS_HASH, 1, entry)
    assert seal_hash(first, 1, entry) != first
    assert seal_hash(GENESIS_HASH, 2, entry) != first
    assert len(first) == 64
    assert int(first, 16) >= 0


@pytest.mark.parametrize(
    "zone",
    [ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"), timezone(timedelta(hours=-3))],
    ids=str,
)
def test_the_same_instant_in_another_zone_seals_the_same(zone: Any) -> None:
    elsewhere = CREATED_AT.astimezone(zone)
    assert elsewhere.utcoffset() != CREATED_AT.utcoffset() or zone is UTC
    assert seal_hash(GENESIS_HASH, 1, make_sealable(created_at=elsewhere)) == seal_hash(
        GENESIS_HASH, 1, make_sealable()
    )


def test_a_naive_time_is_a_bug_not_a_seal() -> None:
    naive = CREATED_AT.replace(tzinfo=None)
    with pytest.raises(AssertionError):
        seal_hash(GENESIS_HASH, 1, make_sealable(created_at=naive))


def test_text_moved_between_actor_and_memo_seals_differently() -> None:
    first = make_sealable(actor="admin", memo="b\x1fc")
    second = make_sealable(actor="admin\x1fb", memo="c")
    assert seal_hash(GENESIS_HASH, 1, first) != seal_hash(GENESIS_HASH, 1, second)
