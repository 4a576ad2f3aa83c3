"""Accounts and entries. Entries are only ever appended; there is no update or delete here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.domain.accounts import COMMUNITY_KINDS, ISSUANCE_STRIPES, AccountKind
from ledger.domain.entries import EntryKind, PostedEntry, Transfer
from ledger.domain.errors import InsufficientPoints, InvalidInput, NotFound
from ledger.domain.localtime import local_day
from ledger.domain.lots import LOT_KINDS, expires_on
from ledger.store import caches, facts, lots, sql
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


async def community_account(community_id: int, kind: AccountKind, stripe: int = 0) -> int:
    """A community's own account. Which row that is never changes (accounts are never moved
    or deleted), so each process remembers it after the first read."""
    key = (community_id, kind.value, stripe)
    account_id = _COMMUNITY_ACCOUNTS.get(key)
    if account_id is None:
        row = await sql.fetch_one(
            "SELECT id FROM account WHERE community = $1 AND kind = $2 AND stripe = $3",
            *key,
        )
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
) -> Posted:
    """Move the points, append the entry and keep the lots, in the caller's transaction.

    The debit is one conditional UPDATE, so no interleaving can overdraw an account that must
    stay non-negative; a CHECK (a trigger on SQLite) backs it. Both rows are updated in account
    id order so that two opposite transfers cannot deadlock, and before any lot is read.
    """
    sides: dict[int, _Side] = {}
    for account_id in sorted((transfer.debit_account_id, transfer.credit_account_id)):
        if account_id == transfer.debit_account_id:
            sides[account_id] = await _debit(account_id, transfer.amount_points)
        else:
            sides[account_id] = await _credit(account_id, transfer.amount_points)
    debit, credit = sides[transfer.debit_account_id], sides[transfer.credit_account_id]
    debit_after, community_id = debit.balance_points, debit.community_id
    credit_after, credit_community_id = credit.balance_points, credit.community_id
    if community_id != credit_community_id:
        raise InvalidInput("account_id", "points never move between communities")
    entry = await sql.fetch_one(
        _INSERT_ENTRY,
        community_id,
        transfer.debit_account_id,
        transfer.credit_account_id,
        transfer.amount_points,
        transfer.kind.value,
        debit_after,
        credit_after,
        event_id,
        transfer.reverses_entry_id,
        transfer.rule_version,
        actor,
        transfer.memo,
        now,
    )
    assert entry is not None, "INSERT … RETURNING returns the row"
    entry_id = int(entry["id"])
    await sql.fetch("INSERT INTO entry_unsealed (entry_id) VALUES ($1)", entry_id)
    if transfer.reverses_entry_id is not None:
        await EntryReversal.insert(
            EntryReversal(reverses_entry_id=transfer.reverses_entry_id, entry_id=entry_id)
        )
    await _keep_lots(transfer, entry_id, debit.kind, credit.kind, expires or lot_expiry(now), now)
    await _points_fact(transfer, community_id, debit.kind, credit.kind, now)
    return Posted(entry_id, community_id, debit_after, credit_after)


_INSERT_ENTRY = (
    "INSERT INTO entry (community_id, debit_account_id, credit_account_id, amount_points, kind, "
    "debit_balance_after, credit_balance_after, event_id, reverses_entry_id, rule_version, "
    "actor, memo, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
    "RETURNING id"
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
) -> None:
    """Net points issued to a household (credits from issuance, less what goes back) feed the
    household and building boards."""
    kinds = (debit_kind, credit_kind)
    if kinds == (AccountKind.ISSUANCE, AccountKind.HOUSEHOLD):
        payload = {"account": transfer.credit_account_id, "delta": transfer.amount_points}
    elif kinds == (AccountKind.HOUSEHOLD, AccountKind.ISSUANCE):
        payload = {"account": transfer.debit_account_id, "delta": -transfer.amount_points}
    else:
        return
    await facts.record(community_id, "points", payload, local_day(now), now)


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
        account = await find_account(account_id)
        if account is None:
            raise NotFound("account", account_id)
        raise InsufficientPoints(
            f"account {account_id} has {account.balance_points} points, {amount_points} needed",
            balance_points=account.balance_points,
        )
    return _side(rows[0])


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


async def account_entries(
    account_id: int, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; two index range scans, one per side of the entry."""
    clauses = []
    for column in (Entry.debit_account_id, Entry.credit_account_id):
        query = Entry.select().where(column == account_id)
        if before_id is not None:
            query = query.where(Entry.id < before_id)
        clauses.append(await query.order_by(Entry.id, ascending=False).limit(limit))
    merged = sorted(clauses[0] + clauses[1], key=lambda row: row["id"], reverse=True)
    return list(merged[:limit])
