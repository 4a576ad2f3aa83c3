"""Transfers, reversals, event ids, fingerprints and stored refusals."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ledger.domain.entries import (
    AMOUNT_POINTS_MAX,
    EntryKind,
    PostedEntry,
    Transfer,
    reversal_of,
)
from ledger.domain.errors import (
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidInput,
    LedgerError,
    NotFound,
    NotReversible,
    refusal_from_record,
)
from ledger.domain.idempotency import check_event_id, fingerprint


def make_posted(**overrides: Any) -> PostedEntry:
    fields: dict[str, Any] = {
        "entry_id": 7,
        "debit_account_id": 1,
        "credit_account_id": 2,
        "amount_points": 30,
        "kind": EntryKind.ADJUSTMENT,
        "reverses_entry_id": None,
    }
    return PostedEntry(**(fields | overrides))


@pytest.mark.parametrize("amount_points", [0, -1, -AMOUNT_POINTS_MAX, AMOUNT_POINTS_MAX + 1])
def test_a_transfer_refuses_amounts_out_of_range(amount_points: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        Transfer(1, 2, amount_points, EntryKind.ADJUSTMENT)
    assert refused.value.extra == {"field": "amount_points"}


@pytest.mark.parametrize("amount_points", [1, AMOUNT_POINTS_MAX])
def test_a_transfer_accepts_the_bounds(amount_points: int) -> None:
    assert Transfer(1, 2, amount_points, EntryKind.ADJUSTMENT).amount_points == amount_points


def test_a_transfer_needs_two_different_accounts() -> None:
    with pytest.raises(InvalidInput) as refused:
        Transfer(5, 5, 10, EntryKind.ADJUSTMENT)
    assert refused.value.extra == {"field": "account_id"}


def test_a_reversal_swaps_the_sides_and_links_the_original() -> None:
    original = make_posted()
    reversal = reversal_of(original, "wrong household")
    assert reversal == Transfer(
        debit_account_id=2,
        credit_account_id=1,
        amount_points=30,
        kind=EntryKind.REVERSAL,
        memo="wrong household",
        reverses_entry_id=7,
        reverses_kind=original.kind,  # what the boards need to know (earned or not)
    )


def test_a_reversal_is_not_reversed() -> None:
    with pytest.raises(NotReversible):
        reversal_of(make_posted(kind=EntryKind.REVERSAL, reverses_entry_id=3), "undo the undo")


def test_the_fingerprint_ignores_key_order() -> None:
    first = fingerprint("adjustment", "admin", {"account_id": 1, "amount_points": 5})
    second = fingerprint("adjustment", "admin", {"amount_points": 5, "account_id": 1})
    assert first == second
    assert len(first) == 64


@pytest.mark.parametrize(
    ("operation", "actor", "inputs"),
    [
        pytest.param("reversal", "admin", {"account_id": 1, "amount_points": 5}, id="operation"),
        pytest.param("adjustment", "clerk", {"account_id": 1, "amount_points": 5}, id="actor"),
        pytest.param("adjustment", "admin", {"account_id": 1, "amount_points": 6}, id="value"),
        pytest.param("adjustment", "admin", {"account_id": 1}, id="missing key"),
        pytest.param("adjustment", "admin", {"account_id": "1", "amount_points": 5}, id="type"),
    ],
)
def test_the_fingerprint_differs_by_operation_actor_and_content(
    operation: str, actor: str, inputs: dict[str, object]
) -> None:
    base = fingerprint("adjustment", "admin", {"account_id": 1, "amount_points": 5})
    assert fingerprint(operation, actor, inputs) != base


@pytest.mark.parametrize(
    "event_id",
    [str(uuid.uuid4()), uuid.uuid4().hex, "a", "x" * 64, "cli-user-add:abc_1.2"],
    ids=["uuid", "hex", "one char", "64 chars", "all allowed punctuation"],
)
def test_event_ids_accept_uuids_and_the_allowed_characters(event_id: str) -> None:
    check_event_id(event_id)


@pytest.mark.parametrize(
    "event_id",
    ["", "x" * 65, "has space", "semi;colon", "slash/", "事件", "abc\n", "\nabc", "tab\t"],
    ids=[
        "empty",
        "65 chars",
        "space",
        "semicolon",
        "slash",
        "non-ascii",
        "newline",
        "lead nl",
        "tab",
    ],
)
def test_event_ids_refuse_bad_characters_and_lengths(event_id: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_event_id(event_id)
    assert refused.value.extra == {"field": "event_id"}


@pytest.mark.parametrize(
    "error",
    [
        InsufficientPoints("account 3 has 2 points, 5 needed", balance_points=2),
        AlreadyReversed("entry 4 was already reversed", reversal_entry_id=9),
        InvalidInput("amount_points", "must be positive"),
        NotFound("household", 12),
        IdempotencyConflict("reused", operation="adjustment"),
        NotReversible("entry 4 is a reversal"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_stored_refusal_is_rebuilt_as_the_same_error(error: LedgerError) -> None:
    rebuilt = refusal_from_record(error.to_record())
    assert type(rebuilt) is type(error)
    assert rebuilt.code == error.code
    assert rebuilt.detail == error.detail
    assert rebuilt.extra == error.extra
    assert str(rebuilt) == str(error)
    assert rebuilt.to_record() == error.to_record()


def test_a_refusal_with_an_unknown_code_is_still_a_ledger_error() -> None:
    rebuilt = refusal_from_record({"code": "retired_code", "detail": "old refusal"})
    assert isinstance(rebuilt, LedgerError)
    assert rebuilt.detail == "old refusal"


def _all_subclasses(cls: type[LedgerError]) -> list[type[LedgerError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def test_every_error_code_is_unique_so_refusals_rebuild_unambiguously() -> None:
    codes = [cls.code for cls in [LedgerError, *_all_subclasses(LedgerError)]]
    assert len(codes) == len(set(codes)), sorted(codes)
