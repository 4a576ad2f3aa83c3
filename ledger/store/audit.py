"""Aggregate queries for `verify`: each returns the first offender, or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.domain.chain import SealableEntry
from ledger.store import sql
from ledger.store.seals import sealable
from ledger.store.tables import Entry, EntrySeal, UnsealedEntry

BALANCE_SUM = "SELECT COALESCE(SUM(balance_points), 0) AS total FROM account"
# The lowest account id whose stored balance differs from the fold of its entries.
FIRST_DRIFTED_ACCOUNT = (
    "SELECT a.id, a.balance_points, COALESCE(f.folded, 0) AS folded FROM account a "
    "LEFT JOIN (SELECT account_id, SUM(delta) AS folded FROM ("
    "  SELECT credit_account_id AS account_id, amount_points AS delta FROM entry"
    "  UNION ALL SELECT debit_account_id, -amount_points FROM entry"
    ") legs GROUP BY account_id) f ON f.account_id = a.id "
    "WHERE a.balance_points <> COALESCE(f.folded, 0) ORDER BY a.id LIMIT 1"
)
FIRST_ORPHAN_LEG = (
    "SELECT e.id FROM entry e WHERE NOT EXISTS (SELECT 1 FROM account a WHERE a.id = "
    "e.debit_account_id) OR NOT EXISTS (SELECT 1 FROM account a WHERE a.id = "
    "e.credit_account_id) ORDER BY e.id LIMIT 1"
)
FIRST_LOT_MISMATCH = (
    "SELECT a.id, a.balance_points, COALESCE(l.remaining, 0) AS remaining FROM account a "
    "LEFT JOIN (SELECT account_id, SUM(remaining_points) AS remaining FROM lot "
    "GROUP BY account_id) l ON l.account_id = a.id "
    "WHERE a.kind IN ('household', 'volunteer') "
    "AND a.balance_points <> COALESCE(l.remaining, 0) ORDER BY a.id LIMIT 1"
)
FIRST_LOT_TOTAL_MISMATCH = (
    "SELECT account_id, expires_on, SUM(total) AS total, SUM(remaining) AS remaining, "
    "SUM(has_total) AS has_total FROM ("
    "  SELECT account_id, expires_on, points AS total, 0 AS remaining, 1 AS has_total"
    "  FROM lot_total"
    "  UNION ALL SELECT account_id, expires_on, 0, remaining_points, 0 FROM lot"
    ") t GROUP BY account_id, expires_on "
    "HAVING SUM(total) <> SUM(remaining) OR (SUM(remaining) > 0 AND SUM(has_total) = 0) "
    "ORDER BY account_id, expires_on LIMIT 1"
)
FIRST_NEGATIVE_ACCOUNT = (
    "SELECT id, kind, balance_points FROM account "
    "WHERE balance_points < 0 AND kind <> 'issuance' ORDER BY id LIMIT 1"
)
FIRST_BAD_REVERSAL = (
    "SELECT r.id, r.reverses_entry_id FROM entry r "
    "LEFT JOIN entry o ON o.id = r.reverses_entry_id "
    "WHERE (r.reverses_entry_id IS NOT NULL OR r.kind = 'reversal') AND ("
    "  r.kind <> 'reversal' OR o.id IS NULL OR o.kind = 'reversal'"
    "  OR o.amount_points <> r.amount_points"
    "  OR o.debit_account_id <> r.credit_account_id"
    "  OR o.credit_account_id <> r.debit_account_id OR r.id < o.id"
    ") ORDER BY r.id LIMIT 1"
)
FIRST_UNACCOUNTED_ENTRY = (
    "SELECT e.id FROM entry e WHERE NOT EXISTS (SELECT 1 FROM entry_seal s "
    "WHERE s.entry_id = e.id) AND NOT EXISTS (SELECT 1 FROM entry_unsealed u "
    "WHERE u.entry_id = e.id) ORDER BY e.id LIMIT 1"
)
SEALED_ENTRIES_AFTER = (
    "SELECT s.seal_no, s.entry_id AS sealed_entry_id, s.hash AS seal_hash, e.* "
    "FROM entry_seal s LEFT JOIN entry e ON e.id = s.entry_id "
    "WHERE s.seal_no > $1 ORDER BY s.seal_no LIMIT $2"
)


@dataclass(frozen=True, slots=True)
class Counts:
    entries: int
    sealed: int
    pending: int


@dataclass(frozen=True, slots=True)
class AccountSums:
    """An account whose balance disagrees with a sum (`other`: its entries' fold, or its lots'
    remainders)."""

    id: int
    balance_points: int
    other: int


@dataclass(frozen=True, slots=True)
class LotTotalMismatch:
    account_id: int
    expires_on: date | str
    total: int
    remaining: int
    has_total: bool


@dataclass(frozen=True, slots=True)
class NegativeAccount:
    id: int
    kind: str
    balance_points: int


@dataclass(frozen=True, slots=True)
class BadReversal:
    id: int
    reverses_entry_id: int | None


@dataclass(frozen=True, slots=True)
class SealedRow:
    """A seal in order with its entry (None when the entry is missing)."""

    seal_no: int
    sealed_entry_id: int
    seal_hash: str
    entry: SealableEntry | None


async def counts() -> Counts:
    entries = await Entry.count()
    sealed = await EntrySeal.count()
    pending = await UnsealedEntry.count()
    return Counts(entries=int(entries), sealed=int(sealed), pending=int(pending))


async def balance_sum() -> int:
    row = await sql.fetch_one(BALANCE_SUM)
    assert row is not None, "an aggregate has a row"
    return int(row["total"])


async def first_drifted_account() -> AccountSums | None:
    """The lowest account id whose stored balance differs from the fold of its entries."""
    return await _first_account_sums(FIRST_DRIFTED_ACCOUNT, "folded")


async def first_orphan_leg() -> int | None:
    """An entry naming an account that does not exist."""
    return await _first_id(FIRST_ORPHAN_LEG)


async def first_lot_mismatch() -> AccountSums | None:
    """A household or volunteer account whose lots' remainders do not sum to its balance."""
    return await _first_account_sums(FIRST_LOT_MISMATCH, "remaining")


async def _first_account_sums(query: str, other: str) -> AccountSums | None:
    row = await sql.fetch_one(query)
    if row is None:
        return None
    return AccountSums(int(row["id"]), int(row["balance_points"]), int(row[other]))


async def first_lot_total_mismatch() -> LotTotalMismatch | None:
    """The first (account, expiry date) whose `lot_total` differs from the sum of its lots'
    remainders, or that has points left in lots but no `lot_total` row (`has_total` 0)."""
    row = await sql.fetch_one(FIRST_LOT_TOTAL_MISMATCH)
    if row is None:
        return None
    return LotTotalMismatch(
        account_id=int(row["account_id"]),
        expires_on=row["expires_on"],
        total=int(row["total"]),
        remaining=int(row["remaining"]),
        has_total=bool(int(row["has_total"])),
    )


async def first_negative_account() -> NegativeAccount | None:
    row = await sql.fetch_one(FIRST_NEGATIVE_ACCOUNT)
    if row is None:
        return None
    return NegativeAccount(int(row["id"]), row["kind"], int(row["balance_points"]))


async def first_bad_reversal() -> BadReversal | None:
    """A reversal must undo exactly one real, non-reversal entry: same amount, sides swapped."""
    row = await sql.fetch_one(FIRST_BAD_REVERSAL)
    return None if row is None else BadReversal(int(row["id"]), row["reverses_entry_id"])


async def first_unaccounted_entry() -> int | None:
    """An entry that is neither sealed nor waiting for the sealer (its seal was removed)."""
    return await _first_id(FIRST_UNACCOUNTED_ENTRY)


async def sealed_entries_after(seal_no: int, limit: int) -> list[SealedRow]:
    """Seals in order with their entries (entry columns null when the entry is missing)."""
    return [
        SealedRow(
            seal_no=row["seal_no"],
            sealed_entry_id=row["sealed_entry_id"],
            seal_hash=row["seal_hash"],
            entry=None if row["id"] is None else sealable(dict(row)),
        )
        for row in await sql.fetch(SEALED_ENTRIES_AFTER, seal_no, limit)
    ]


async def _first_id(query: str) -> int | None:
    row = await sql.fetch_one(query)
    return None if row is None else int(row["id"])
