"""Accounts and entries. Entries are only ever appended; there is no update or delete here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NoReturn

from ledger.domain.accounts import COMMUNITY_KINDS, ISSUANCE_STRIPES, AccountKind
from ledger.domain.entries import EntryKind, PostedEntry, Transfer
from ledger.domain.errors import InsufficientPoints, InvalidInput, NotFound
from ledger.domain.leaderboard import counts_as_earned
from ledger.domain.localtime import local_day
from ledger.domain.lots import LOT_KINDS, expires_on
from ledger.store import caches, facts, lots, sql
from ledger.store.engine import is_sqlite
from ledger.store.tables import Account, Entry, EntryReversal


@dataclass(frozen=True, slots=True)
class Posted:
    entry_id: int
    community_id: int
    debit_balance_after: int
    credit_balance_after: int


@dataclass(frozen=True, slots=True)
class AccountRow:
    account_id: int
    community_id: int
    kind: AccountKind
    balance_points: int


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An entry as an account's history lists it."""

    id: int
    kind: str
    amount_points: int
    debit_account_id: int
    credit_account_id: int
    debit_balance_after: int
    credit_balance_after: int
    created_at: datetime
    captured_at: datetime | None
    actor: str
    event_id: str | None
    reverses_entry_id: int | None
    rule_version: int | None
    memo: str


async def open_account(community_id: int, kind: AccountKind, now: datetime) -> int:
    rows = await Account.insert(
        Account(community=community_id, kind=kind.value, stripe=0, created_at=now)
    ).returning(Account.id)
    return int(rows[0]["id"])


async def open_community_accounts(community_id: int, now: datetime) -> None:
    """Issuance in ISSUANCE_STRIPES stripes, and one of each sink."""
    accounts = [
        Account(community=community_id, kind=kind.value, stripe=stripe, created_at=now)
        for kind in COMMUNITY_KINDS
        for stripe in range(ISSUANCE_STRIPES if kind is AccountKind.ISSUANCE else 1)
    ]
    await Account.insert(*accounts)


COMMUNITY_ACCOUNT = "SELECT id FROM account WHERE community = $1 AND kind = $2 AND stripe = $3"


async def community_account(community_id: int, kind: AccountKind, stripe: int = 0) -> int:
    """A community's own account. Which row that is never changes (accounts are never moved
    or deleted), so each process remembers it after the first read."""
    key = (community_id, kind.value, stripe)
    account_id = _COMMUNITY_ACCOUNTS.get(key)
    if account_id is None:
        row = await sql.fetch_one(COMMUNITY_ACCOUNT, *key)
        if row is None:
            raise NotFound(f"{kind} account of community", community_id)
        account_id = _COMMUNITY_ACCOUNTS[key] = int(row["id"])
    return account_id


_COMMUNITY_ACCOUNTS: dict[tuple[int, str, int], int] = {}
caches.register(_COMMUNITY_ACCOUNTS.clear)


async def find_account(account_id: int) -> AccountRow | None:
    row = await (
        Account.select(Account.id, Account.community, Account.kind, Account.balance_points)
        .where(Account.id == account_id)
        .first()
    )
    if row is None:
        return None
    return AccountRow(
        account_id=row["id"],
        community_id=row["community"],
        kind=AccountKind(row["kind"]),
        balance_points=row["balance_points"],
    )


async def post(
    transfer: Transfer,
    *,
    event_id: str | None,
    actor: str,
    now: datetime,
    expires: date | None = None,
    captured_at: datetime | None = None,
) -> Posted:
    """Move the points, append the entry and keep the lots, in the caller's transaction.

    The debit is one conditional UPDATE, so no interleaving can overdraw an account that must
    stay non-negative; a CHECK (a trigger on SQLite) backs it. Both rows are updated in account
    id order so that two opposite transfers cannot deadlock, and before any lot is read.
    `captured_at`: when the scan behind it happened, recorded beside the server's `now`; the
    boards count it on that local day.
    """
    entry = (
        transfer.kind.value,
        event_id,
        transfer.reverses_entry_id,
        transfer.rule_version,
        actor,
        transfer.memo,
        now,
        captured_at,
    )
    move = _move_stepwise if is_sqlite() else _move_at_once
    debit, credit, entry_id = await move(transfer, entry)
    await sql.later("INSERT INTO entry_unsealed (entry_id) VALUES ($1)", entry_id)
    if transfer.reverses_entry_id is not None:
        await EntryReversal.insert(
            EntryReversal(reverses_entry_id=transfer.reverses_entry_id, entry_id=entry_id)
        )
    await _keep_lots(transfer, entry_id, debit.kind, credit.kind, expires or lot_expiry(now), now)
    await _points_fact(
        transfer, debit.community_id, debit.kind, credit.kind, now, local_day(captured_at or now)
    )
    return Posted(entry_id, debit.community_id, debit.balance_points, credit.balance_points)


async def _move_stepwise(transfer: Transfer, entry: tuple[Any, ...]) -> tuple[_Side, _Side, int]:
    """SQLite: a statement is a function call, so one per step."""
    sides: dict[int, _Side] = {}
    for account_id in sorted((transfer.debit_account_id, transfer.credit_account_id)):
        if account_id == transfer.debit_account_id:
            sides[account_id] = await _debit(account_id, transfer.amount_points)
        else:
            sides[account_id] = await _credit(account_id, transfer.amount_points)
    debit, credit = sides[transfer.debit_account_id], sides[transfer.credit_account_id]
    _same_community(debit, credit)
    row = await sql.fetch_one(
        _INSERT_ENTRY,
        debit.community_id,
        transfer.debit_account_id,
        transfer.credit_account_id,
        transfer.amount_points,
        entry[0],
        debit.balance_points,
        credit.balance_points,
        *entry[1:],
    )
    assert row is not None, "INSERT … RETURNING returns the row"
    return debit, credit, int(row["id"])


async def _move_at_once(transfer: Transfer, entry: tuple[Any, ...]) -> tuple[_Side, _Side, int]:
    """PostgreSQL: both UPDATEs and the entry in one statement (one round trip), the rows
    locked in account id order as in `_move_stepwise`; a refused step stops the later ones."""
    debit_first = transfer.debit_account_id < transfer.credit_account_id
    row = await sql.fetch_one(
        MOVE_DEBIT_FIRST if debit_first else MOVE_CREDIT_FIRST,
        transfer.debit_account_id,
        transfer.credit_account_id,
        transfer.amount_points,
        *entry,
    )
    assert row is not None, "the statement always returns one row"
    if row["debit_after"] is None and (debit_first or row["credit_after"] is not None):
        await _refused_debit(transfer.debit_account_id, transfer.amount_points)
    if row["credit_after"] is None:
        raise NotFound("account", transfer.credit_account_id)
    debit = _Side(
        int(row["debit_after"]), int(row["debit_community"]), AccountKind(row["debit_kind"])
    )
    credit = _Side(
        int(row["credit_after"]), int(row["credit_community"]), AccountKind(row["credit_kind"])
    )
    _same_community(debit, credit)
    return debit, credit, int(row["entry_id"])


def _same_community(debit: _Side, credit: _Side) -> None:
    if debit.community_id != credit.community_id:
        raise InvalidInput("account_id", "points never move between communities")


_INSERT_ENTRY = (
    "INSERT INTO entry (community_id, debit_account_id, credit_account_id, amount_points, kind, "
    "debit_balance_after, credit_balance_after, event_id, reverses_entry_id, rule_version, "
    "actor, memo, created_at, captured_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id"
)
_DEBIT = (
    "UPDATE account SET balance_points = balance_points - $3 "
    "WHERE id = $1 AND (balance_points >= $3 OR kind = 'issuance') {after} "
    "RETURNING balance_points, community, kind"
)
_CREDIT = (
    "UPDATE account SET balance_points = balance_points + $3 WHERE id = $2 {after} "
    "RETURNING balance_points, community, kind"
)
_ENTRY_AND_ROW = (
    "e AS (INSERT INTO entry (community_id, debit_account_id, credit_account_id, amount_points, "
    "kind, debit_balance_after, credit_balance_after, event_id, reverses_entry_id, "
    "rule_version, actor, memo, created_at, captured_at) SELECT d.community, $1, $2, $3, "
    "$4::varchar, d.balance_points, c.balance_points, $5::varchar, $6::bigint, $7::integer, "
    "$8::varchar, $9::text, $10::timestamptz, $11::timestamptz FROM d, c "
    "WHERE d.community = c.community RETURNING id) "
    "SELECT d.balance_points AS debit_after, d.community AS debit_community, "
    "d.kind AS debit_kind, c.balance_points AS credit_after, c.community AS credit_community, "
    "c.kind AS credit_kind, (SELECT id FROM e) AS entry_id "
    "FROM (SELECT 1) AS one LEFT JOIN d ON TRUE LEFT JOIN c ON TRUE"
)
# The second UPDATE reads the first one's row, so it runs after it (and not at all when the
# first found nothing to change): the lock order is the text's order.
MOVE_DEBIT_FIRST = (
    f"WITH d AS ({_DEBIT.format(after='')}), "  # noqa: S608 (constants only)
    f"c AS ({_CREDIT.format(after='AND EXISTS (SELECT 1 FROM d)')}), {_ENTRY_AND_ROW}"
)
MOVE_CREDIT_FIRST = (
    f"WITH c AS ({_CREDIT.format(after='')}), "  # noqa: S608 (constants only)
    f"d AS ({_DEBIT.format(after='AND EXISTS (SELECT 1 FROM c)')}), {_ENTRY_AND_ROW}"
)


def lot_expiry(now: datetime) -> date:
    return expires_on(local_day(now))


async def _keep_lots(
    transfer: Transfer,
    entry_id: int,
    debit_kind: AccountKind,
    credit_kind: AccountKind,
    expires: date,
    now: datetime,
) -> None:
    """A debit takes from lots; a credit opens one, unless it reverses a debit, which gives the
    taken lots back (their expiry unchanged)."""
    amount = transfer.amount_points
    if debit_kind in LOT_KINDS:
        await lots.take(transfer.debit_account_id, entry_id, amount, transfer.reverses_entry_id)
    if credit_kind in LOT_KINDS:
        original = transfer.reverses_entry_id
        if original is None or not await lots.give_back(original, entry_id, amount):
            await lots.open_lot(transfer.credit_account_id, entry_id, amount, expires, now)


async def _points_fact(
    transfer: Transfer,
    community_id: int,
    debit_kind: AccountKind,
    credit_kind: AccountKind,
    now: datetime,
    day: date,
) -> None:
    """Points a household earned (or lost again by the reversal of an earned entry) feed the
    household and building boards; adjustments, carry-overs and other corrections do not."""
    if not counts_as_earned(transfer.kind, transfer.reverses_kind):
        return
    kinds = (debit_kind, credit_kind)
    if kinds == (AccountKind.ISSUANCE, AccountKind.HOUSEHOLD):
        payload = {"account": transfer.credit_account_id, "delta": transfer.amount_points}
    elif kinds == (AccountKind.HOUSEHOLD, AccountKind.ISSUANCE):
        payload = {"account": transfer.debit_account_id, "delta": -transfer.amount_points}
    else:
        return
    await facts.record(community_id, "earned", payload, day, now)


@dataclass(frozen=True, slots=True)
class _Side:
    balance_points: int
    community_id: int
    kind: AccountKind


async def _debit(account_id: int, amount_points: int) -> _Side:
    rows = await sql.fetch(
        "UPDATE account SET balance_points = balance_points - $1 "
        "WHERE id = $2 AND (balance_points >= $1 OR kind = 'issuance') "
        "RETURNING balance_points, community, kind",
        amount_points,
        account_id,
    )
    if not rows:
        await _refused_debit(account_id, amount_points)
    return _side(rows[0])


async def _refused_debit(account_id: int, amount_points: int) -> NoReturn:
    account = await find_account(account_id)
    if account is None:
        raise NotFound("account", account_id)
    raise InsufficientPoints(
        f"account {account_id} has {account.balance_points} points, {amount_points} needed",
        balance_points=account.balance_points,
        needed_points=amount_points,
        short_points=amount_points - account.balance_points,
    )


async def _credit(account_id: int, amount_points: int) -> _Side:
    rows = await sql.fetch(
        "UPDATE account SET balance_points = balance_points + $1 WHERE id = $2 "
        "RETURNING balance_points, community, kind",
        amount_points,
        account_id,
    )
    if not rows:
        raise NotFound("account", account_id)
    return _side(rows[0])


def _side(row: Mapping[str, Any]) -> _Side:
    return _Side(int(row["balance_points"]), int(row["community"]), AccountKind(row["kind"]))


async def find_entry(entry_id: int) -> PostedEntry | None:
    row = await Entry.select().where(Entry.id == entry_id).first()
    if row is None:
        return None
    return PostedEntry(
        entry_id=row["id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount_points=row["amount_points"],
        kind=EntryKind(row["kind"]),
        reverses_entry_id=row["reverses_entry_id"],
    )


async def reversal_of_entry(entry_id: int) -> int | None:
    row = await Entry.select(Entry.id).where(Entry.reverses_entry_id == entry_id).first()
    return None if row is None else int(row["id"])


async def account_entries(account_id: int, before_id: int | None, limit: int) -> list[EntryRow]:
    """Newest first; two index range scans, one per side of the entry."""
    clauses = []
    for column in (Entry.debit_account_id, Entry.credit_account_id):
        query = Entry.select().where(column == account_id)
        if before_id is not None:
            query = query.where(Entry.id < before_id)
        clauses.append(await query.order_by(Entry.id, ascending=False).limit(limit))
    merged = sorted(clauses[0] + clauses[1], key=lambda row: row["id"], reverse=True)
    return [_entry_row(row) for row in merged[:limit]]


def _entry_row(row: Mapping[str, Any]) -> EntryRow:
    return EntryRow(
        id=row["id"],
        kind=row["kind"],
        amount_points=row["amount_points"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        debit_balance_after=row["debit_balance_after"],
        credit_balance_after=row["credit_balance_after"],
        created_at=row["created_at"],
        captured_at=row.get("captured_at"),
        actor=row["actor"],
        event_id=row["event_id"],
        reverses_entry_id=row["reverses_entry_id"],
        rule_version=row["rule_version"],
        memo=row["memo"],
    )
