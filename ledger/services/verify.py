"""Prove every balance from the entries, and every sealed entry from the hash chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ledger import metrics
from ledger.domain.chain import GENESIS_HASH, seal_hash
from ledger.services.books import first_books_mismatch
from ledger.store import audit
from ledger.store.engine import Database

CHAIN_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    entries: int
    sealed_through: int
    pending_seal: int
    checks: list[Check]


@dataclass(frozen=True)
class Verifier:
    db: Database

    async def verify(self) -> VerifyReport:
        """All checks run; each failure names the first broken account or entry."""
        async with self.db.read():
            counts = await audit.counts()
            checks = [await check() for check in self._checks()]
        sealed_through = counts.sealed
        ok = all(check.ok for check in checks)
        metrics.verified(ok)
        return VerifyReport(
            ok=ok,
            entries=counts.entries,
            sealed_through=sealed_through,
            pending_seal=counts.pending,
            checks=checks,
        )

    def _checks(self) -> list[Callable[[], Awaitable[Check]]]:
        return [
            _conservation,
            _balances_match_entries,
            _no_forbidden_negative,
            _lots_match_balances,
            _lot_totals_match_lots,
            _reversal_links,
            _hash_chain,
            _books_match_ledger,
        ]


async def _conservation() -> Check:
    total = await audit.balance_sum()
    if total != 0:
        return Check("conservation", False, f"balances sum to {total}, not 0")
    orphan = await audit.first_orphan_leg()
    if orphan is not None:
        return Check("conservation", False, f"entry {orphan} names a missing account")
    return Check("conservation", True, "all balances sum to 0")


async def _balances_match_entries() -> Check:
    drifted = await audit.first_drifted_account()
    if drifted is None:
        return Check("balances_match_entries", True, "every balance equals the fold of its entries")
    return Check(
        "balances_match_entries",
        False,
        f"account {drifted.id} stores {drifted.balance_points} "
        f"but its entries sum to {drifted.other}",
    )


async def _no_forbidden_negative() -> Check:
    negative = await audit.first_negative_account()
    if negative is None:
        return Check("no_forbidden_negative", True, "no household, volunteer or merchant below 0")
    return Check(
        "no_forbidden_negative",
        False,
        f"{negative.kind} account {negative.id} is at {negative.balance_points}",
    )


async def _lots_match_balances() -> Check:
    mismatch = await audit.first_lot_mismatch()
    if mismatch is None:
        return Check("lots_match_balances", True, "every account's lots sum to its balance")
    return Check(
        "lots_match_balances",
        False,
        f"account {mismatch.id} has {mismatch.balance_points} points "
        f"but its lots hold {mismatch.other}",
    )


async def _lot_totals_match_lots() -> Check:
    mismatch = await audit.first_lot_total_mismatch()
    if mismatch is None:
        return Check("lot_totals_match_lots", True, "every lot total equals the lots it sums")
    where = f"account {mismatch.account_id}, expiring {mismatch.expires_on}"
    if not mismatch.has_total:
        detail = f"{where}: its lots hold {mismatch.remaining} points but it has no total"
    else:
        detail = f"{where}: the total says {mismatch.total} but its lots hold {mismatch.remaining}"
    return Check("lot_totals_match_lots", False, detail)


async def _reversal_links() -> Check:
    bad = await audit.first_bad_reversal()
    if bad is None:
        return Check("reversal_links", True, "every reversal undoes exactly one entry")
    return Check(
        "reversal_links",
        False,
        f"entry {bad.id} does not correctly reverse entry {bad.reverses_entry_id}",
    )


async def _hash_chain() -> Check:
    previous, seal_no = GENESIS_HASH, 0
    while rows := await audit.sealed_entries_after(seal_no, CHAIN_BATCH):
        for row in rows:
            problem = _chain_problem(row, seal_no + 1, previous)
            if problem is not None:
                return Check("hash_chain", False, problem)
            seal_no, previous = row.seal_no, row.seal_hash
    unaccounted = await audit.first_unaccounted_entry()
    if unaccounted is not None:
        return Check("hash_chain", False, f"entry {unaccounted} is neither sealed nor pending")
    return Check("hash_chain", True, f"{seal_no} seals intact")


def _chain_problem(row: audit.SealedRow, expected_seal_no: int, previous: str) -> str | None:
    if row.seal_no != expected_seal_no:
        return f"seal {expected_seal_no} is missing (next is {row.seal_no})"
    if row.entry is None:
        return f"entry {row.sealed_entry_id} (seal {row.seal_no}) is missing"
    if seal_hash(previous, row.seal_no, row.entry) != row.seal_hash:
        return f"entry {row.entry.entry_id} (seal {row.seal_no}) was changed after it was sealed"
    return None


async def _books_match_ledger() -> Check:
    """The liability report's sorting of the entries, summed over all time, against the
    stored balances and the redemption rows (ledger/services/books.py)."""
    mismatch = await first_books_mismatch()
    if mismatch is None:
        return Check(
            "books_match_ledger",
            True,
            "per community, issued − redeemed − paid − expired equals what holders hold",
        )
    return Check(
        "books_match_ledger", False, f"community {mismatch.community_id}: {mismatch.detail}"
    )
