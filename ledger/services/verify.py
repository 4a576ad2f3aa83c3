"""Prove every balance from the entries, and every sealed entry from the hash chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ledger import metrics
from ledger.domain import merkle
from ledger.domain.chain import GENESIS_HASH, seal_hash
from ledger.domain.localtime import day_bounds
from ledger.domain.receipts import head_payload
from ledger.services.books import BooksMismatch, first_books_mismatch
from ledger.services.chain_keys import ChainKeys
from ledger.store import audit, chain_heads
from ledger.store.engine import Database

CHAIN_BATCH = 5_000

Found = TypeVar("Found")


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
    chain_keys: ChainKeys | None = None

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
            _check("conservation", _conservation),
            _check("balances_match_entries", _drifted),
            _check("no_forbidden_negative", _negative),
            _check("lots_match_balances", _lots_differ),
            _check("lot_totals_match_lots", _lot_total_differs),
            _check("reversal_links", _bad_reversal),
            _hash_chain,
            _check("books_match_ledger", _books_differ),
            self._day_heads,
        ]

    async def _day_heads(self) -> Check:
        """The transparency log (issue 19): every published day head is the Merkle root of
        the seals of its local day, as stored now, and carries a valid signature."""
        heads = await chain_heads.all_heads()
        for head in heads:
            problem = await _day_head_problem(head, self.chain_keys)
            if problem is not None:
                return Check("day_heads", False, problem)
        return Check("day_heads", True, f"{len(heads)} published day heads match their entries")


FirstProblem = Callable[[], Awaitable[str | None]]

# What a check that passes says, by its name.
_HOLDS = {
    "conservation": "all balances sum to 0",
    "balances_match_entries": "every balance equals the fold of its entries",
    "no_forbidden_negative": "no household, volunteer or merchant below 0",
    "lots_match_balances": "every account's lots sum to its balance",
    "lot_totals_match_lots": "every lot total equals the lots it sums",
    "reversal_links": "every reversal undoes exactly one entry",
    # The liability report's sorting of the entries, summed over all time, against the
    # stored balances and the redemption rows (ledger/services/books.py).
    "books_match_ledger": (
        "per community, issued − redeemed − paid − expired equals what holders hold"
    ),
}


def _check(name: str, first_problem: FirstProblem) -> Callable[[], Awaitable[Check]]:
    """A check fails with the first problem its read finds, or passes saying what holds."""

    async def run() -> Check:
        problem = await first_problem()
        return Check(name, True, _HOLDS[name]) if problem is None else Check(name, False, problem)

    return run


def _told(
    find: Callable[[], Awaitable[Found | None]],
) -> Callable[[Callable[[Found], str]], FirstProblem]:
    """The first offender an audit read finds, in the words of the function it decorates."""

    def decorate(describe: Callable[[Found], str]) -> FirstProblem:
        async def first_problem() -> str | None:
            found = await find()
            return None if found is None else describe(found)

        return first_problem

    return decorate


async def _conservation() -> str | None:
    total = await audit.balance_sum()
    if total != 0:
        return f"balances sum to {total}, not 0"
    orphan = await audit.first_orphan_leg()
    return None if orphan is None else f"entry {orphan} names a missing account"


@_told(audit.first_drifted_account)
def _drifted(sums: audit.AccountSums) -> str:
    return f"account {sums.id} stores {sums.balance_points} but its entries sum to {sums.other}"


@_told(audit.first_negative_account)
def _negative(negative: audit.NegativeAccount) -> str:
    return f"{negative.kind} account {negative.id} is at {negative.balance_points}"


@_told(audit.first_lot_mismatch)
def _lots_differ(sums: audit.AccountSums) -> str:
    return f"account {sums.id} has {sums.balance_points} points but its lots hold {sums.other}"


@_told(audit.first_lot_total_mismatch)
def _lot_total_differs(mismatch: audit.LotTotalMismatch) -> str:
    where = f"account {mismatch.account_id}, expiring {mismatch.expires_on}"
    if not mismatch.has_total:
        return f"{where}: its lots hold {mismatch.remaining} points but it has no total"
    return f"{where}: the total says {mismatch.total} but its lots hold {mismatch.remaining}"


@_told(audit.first_bad_reversal)
def _bad_reversal(bad: audit.BadReversal) -> str:
    return f"entry {bad.id} does not correctly reverse entry {bad.reverses_entry_id}"


@_told(first_books_mismatch)
def _books_differ(mismatch: BooksMismatch) -> str:
    return f"community {mismatch.community_id}: {mismatch.detail}"


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


async def _day_head_problem(head: chain_heads.DayHead, keys: ChainKeys | None) -> str | None:
    rows = await chain_heads.seals_between(*day_bounds(head.day))
    day = head.day.isoformat()
    if len(rows) != head.tree_size:
        return f"the head of {day} covers {head.tree_size} entries, but {len(rows)} are sealed"
    root = merkle.root([bytes.fromhex(row.hash) for row in rows]).hex()
    if root != head.root:
        return f"the head of {day} says root {head.root}, its entries give {root}"
    payload = head_payload(head.day, head.tree_size, head.root)
    if keys is not None and not keys.verify(head.key_id, payload, head.signature):
        return f"the head of {day} does not carry a valid signature of key {head.key_id}"
    return None
