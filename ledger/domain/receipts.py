"""Receipts of the transparency log: what a day head signs, and the checks anyone can redo.

A receipt names one sealed entry with every field the hash chain commits to, the hash of the
entry before it, and the entry's audit path in its local day's Merkle tree. Checking it needs
no database: the entry hash is recomputed from the fields (chain.seal_hash), the path leads to
a root (merkle.py), and that root must be the one in the published, signed day head. The
signature itself is checked by the caller (Ed25519 lives outside the standard library).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ledger.domain import merkle
from ledger.domain.chain import SealableEntry, seal_hash

HEAD_FORMAT = "greenledger-day-head/v1"


@dataclass(frozen=True, slots=True)
class DayHead:
    """One published day: the root over the entries sealed that local day, and its signature
    (hex) by the key named `key_id`."""

    day: date
    tree_size: int
    root: str
    key_id: str
    signature: str


class ReceiptRefused(Exception):
    """A receipt that does not check; the message says which step failed, and `step` names it
    for a page to say in the reader's language: malformed, entry_hash, audit_path, no_head,
    root, key or signature."""

    def __init__(self, detail: str, step: str = "malformed") -> None:
        super().__init__(detail)
        self.step = step


def head_payload(day: date, tree_size: int, root: str) -> bytes:
    """The exact bytes an Ed25519 day-head signature covers (UTF-8, LF-separated, no trailing
    newline): `greenledger-day-head/v1\\n2026-12-05\\n1042\\n<64 lowercase hex>`."""
    return f"{HEAD_FORMAT}\n{day.isoformat()}\n{tree_size}\n{root}".encode()


def entry_fields(entry: SealableEntry) -> dict[str, Any]:
    """The entry as a receipt shows it: every field the chain hashes, times as ISO 8601 UTC
    with microseconds (the chain hashes them as microseconds since the epoch)."""
    return {
        "entry_id": entry.entry_id,
        "community_id": entry.community_id,
        "debit_account_id": entry.debit_account_id,
        "credit_account_id": entry.credit_account_id,
        "amount_points": entry.amount_points,
        "kind": entry.kind,
        "debit_balance_after": entry.debit_balance_after,
        "credit_balance_after": entry.credit_balance_after,
        "event_id": entry.event_id,
        "reverses_entry_id": entry.reverses_entry_id,
        "rule_version": entry.rule_version,
        "actor": entry.actor,
        "memo": entry.memo,
        "created_at": _iso(entry.created_at),
        "captured_at": None if entry.captured_at is None else _iso(entry.captured_at),
    }


def entry_from_fields(fields: Mapping[str, Any]) -> SealableEntry:
    """The receipt's entry back as the chain sees it; ReceiptRefused if a field is missing or
    of the wrong type."""
    try:
        captured = fields.get("captured_at")
        entry = SealableEntry(
            entry_id=_int(fields["entry_id"]),
            community_id=_int(fields["community_id"]),
            debit_account_id=_int(fields["debit_account_id"]),
            credit_account_id=_int(fields["credit_account_id"]),
            amount_points=_int(fields["amount_points"]),
            kind=_str(fields["kind"]),
            debit_balance_after=_int(fields["debit_balance_after"]),
            credit_balance_after=_int(fields["credit_balance_after"]),
            event_id=None if fields["event_id"] is None else _str(fields["event_id"]),
            reverses_entry_id=_opt_int(fields["reverses_entry_id"]),
            rule_version=_opt_int(fields["rule_version"]),
            actor=_str(fields["actor"]),
            memo=_str(fields["memo"]),
            created_at=_moment(fields["created_at"]),
            captured_at=None if captured is None else _moment(captured),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ReceiptRefused(f"the receipt's entry fields are malformed: {error}") from None
    return entry


def check_receipt(receipt: Mapping[str, Any], heads: Sequence[DayHead]) -> DayHead:
    """Every check but the signature's, in order; returns the published head the receipt
    leads to (whose signature the caller then checks), or raises ReceiptRefused naming the
    first failed step."""
    try:
        day = date.fromisoformat(_str(receipt["day"]))
        seal_no = _int(receipt["seal_no"])
        previous = _hex32(receipt["previous_hash"], "previous_hash")
        claimed = _hex32(receipt["entry_hash"], "entry_hash")
        index = _int(receipt["leaf_index"])
        size = _int(receipt["tree_size"])
        root = _hex32(receipt["root"], "root")
        path = [bytes.fromhex(_hex32(p, "audit_path")) for p in receipt["audit_path"]]
        fields = receipt["entry"]
    except (KeyError, TypeError, ValueError) as error:
        raise ReceiptRefused(f"the receipt is malformed: {error}") from None
    entry = entry_from_fields(fields)
    if receipt.get("entry_id") != entry.entry_id:
        raise ReceiptRefused("entry_id differs from the entry's own id")
    recomputed = seal_hash(previous, seal_no, entry)
    if recomputed != claimed:
        raise ReceiptRefused(
            f"the entry hash does not recompute from the entry's fields: got {recomputed}, "
            f"the receipt says {claimed}",
            "entry_hash",
        )
    if not merkle.verify_inclusion(bytes.fromhex(claimed), index, size, path, bytes.fromhex(root)):
        raise ReceiptRefused(
            "the audit path does not lead from the entry hash to the root", "audit_path"
        )
    head = next((h for h in heads if h.day == day), None)
    if head is None:
        raise ReceiptRefused(f"no published head for {day.isoformat()}", "no_head")
    if head.root != root or head.tree_size != size:
        raise ReceiptRefused(
            f"the receipt's root ({root}, {size} entries) is not the published head of "
            f"{day.isoformat()} ({head.root}, {head.tree_size} entries)",
            "root",
        )
    return head


def short_form(day: date, seal_no: int, entry_hash: str) -> str:
    """What a printed or phone receipt shows: `2026-12-05 · 48213 · 3f9a0c1b2d4e`."""
    return f"{day.isoformat()} · {seal_no} · {entry_hash[:12]}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(_str(value))
    if moment.tzinfo is None:
        raise ValueError("times carry their offset")
    return moment


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{value!r} is not an integer")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def _hex32(value: Any, name: str) -> str:
    text = _str(value)
    if len(text) != 64 or text != text.lower() or not all(c in "0123456789abcdef" for c in text):
        raise ValueError(f"{name} is not 64 lowercase hex digits")
    return text
