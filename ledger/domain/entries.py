"""Transfers between two accounts: the only way points move."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.domain.errors import InvalidInput, NotReversible

# A single entry is bounded so that sums over any realistic history stay far inside BIGINT.
AMOUNT_POINTS_MAX = 1_000_000_000


class EntryKind(StrEnum):
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    INSPECTION = "inspection"
    DROPOFF = "dropoff"
    WEIGHIN = "weighin"
    SHIFT = "shift"
    REDEMPTION = "redemption"
    PAYMENT = "payment"
    SETTLEMENT = "settlement"
    EXPIRY = "expiry"


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move a positive amount from one account to another; balanced by construction."""

    debit_account_id: int
    credit_account_id: int
    amount_points: int
    kind: EntryKind
    memo: str = ""
    reverses_entry_id: int | None = None
    rule_version: int | None = None
    # What the reversed entry was (not stored: the entry it names says it); the boards count
    # the reversal of an earned entry and no other (ledger/domain/leaderboard.py).
    reverses_kind: EntryKind | None = None

    def __post_init__(self) -> None:
        check_amount(self.amount_points)
        if self.debit_account_id == self.credit_account_id:
            raise InvalidInput("account_id", "a transfer needs two different accounts")


@dataclass(frozen=True, slots=True)
class PostedEntry:
    """An entry as stored: what `reversal_of` needs to undo it."""

    entry_id: int
    debit_account_id: int
    credit_account_id: int
    amount_points: int
    kind: EntryKind
    reverses_entry_id: int | None


def check_amount(amount_points: int, field: str = "amount_points") -> None:
    """Amounts are positive whole points, bounded per entry."""
    if not 0 < amount_points <= AMOUNT_POINTS_MAX:
        raise InvalidInput(field, f"must be between 1 and {AMOUNT_POINTS_MAX}")


def reversal_of(entry: PostedEntry, memo: str, *, allow_redemption: bool = False) -> Transfer:
    """Undo an entry by the opposite transfer; the original stays in the history."""
    if entry.kind is EntryKind.REVERSAL:
        raise NotReversible(f"entry {entry.entry_id} is a reversal; correct it with an adjustment")
    if entry.kind is EntryKind.REDEMPTION and not allow_redemption:
        raise NotReversible(
            f"entry {entry.entry_id} is a redemption: refund it (POST /api/v1/redemptions/"
            "{id}/refund), which also returns the stock"
        )
    return Transfer(
        debit_account_id=entry.credit_account_id,
        credit_account_id=entry.debit_account_id,
        amount_points=entry.amount_points,
        kind=EntryKind.REVERSAL,
        memo=memo,
        reverses_entry_id=entry.entry_id,
        reverses_kind=entry.kind,
    )
