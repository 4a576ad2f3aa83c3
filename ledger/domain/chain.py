"""The tamper-evident hash chain over sealed entries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

GENESIS_HASH = "0" * 64
# An entry's canonical text (SealableEntry.canonical), from one encoder made once: json.dumps
# with options builds one per call, for every entry sealed. The same text, so the same hashes.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SealableEntry:
    """Every stored field of an entry that a seal commits to."""

    entry_id: int
    community_id: int
    debit_account_id: int
    credit_account_id: int
    amount_points: int
    kind: str
    debit_balance_after: int
    credit_balance_after: int
    event_id: str | None
    reverses_entry_id: int | None
    rule_version: int | None
    actor: str
    memo: str
    created_at: datetime
    # When the scan behind the entry was captured (None: no capture time was sent).
    captured_at: datetime | None = None

    def canonical(self) -> str:
        """One text per entry; a change to any field changes it (JSON keeps null apart from
        an empty string, and escapes any separator a memo could contain). The capture time
        comes last and only when there is one, so entries sealed before it existed keep
        their hashes."""
        fields: list[object] = [
            self.entry_id,
            self.community_id,
            self.debit_account_id,
            self.credit_account_id,
            self.amount_points,
            self.kind,
            self.debit_balance_after,
            self.credit_balance_after,
            self.event_id,
            self.reverses_entry_id,
            self.rule_version,
            self.actor,
            self.memo,
            _utc_micros(self.created_at),
        ]
        if self.captured_at is not None:
            fields.append(_utc_micros(self.captured_at))
        return _CANONICAL.encode(fields)


def seal_hash(previous_hash: str, seal_no: int, entry: SealableEntry) -> str:
    """h_n = SHA-256(h_{n-1} | n | canonical(entry_n))."""
    text = f"{previous_hash}|{seal_no}|{entry.canonical()}"
    return hashlib.sha256(text.encode()).hexdigest()


def _utc_micros(moment: datetime) -> int:
    assert moment.tzinfo is not None, "entry times are timezone-aware"
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
