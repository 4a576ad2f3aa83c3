"""Adjustments, reversals and account reads."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.access import Principal, Role
from ledger.domain.accounts import OWNED_KINDS, AccountKind, issuance_stripe
from ledger.domain.entries import EntryKind, Transfer, check_amount, reversal_of
from ledger.domain.errors import AlreadyReversed, Forbidden, InvalidInput, NotFound, OutOfScope
from ledger.ports import Clock
from ledger.services.runner import Runner
from ledger.store import ledger as store
from ledger.store import locks, reads
from ledger.store import registry as registry_store
from ledger.store.engine import Database
from ledger.store.replica import on_replica

PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 500
REASON_LENGTH_MAX = 500


@dataclass(frozen=True, slots=True)
class Adjusted:
    entry_id: int
    balance_points: int


@dataclass(frozen=True, slots=True)
class Reversed:
    entry_id: int
    reverses_entry_id: int


@dataclass(frozen=True, slots=True)
class Expiring:
    points: int
    expires_on: str


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account's balance and what expires when."""

    id: int
    kind: str
    community_id: int
    balance_points: int
    expiring: list[Expiring]


@dataclass(frozen=True, slots=True)
class EntryView:
    """An entry as seen from one of its two accounts."""

    id: int
    kind: str
    amount_points: int
    direction: str
    balance_after_points: int
    counter_account_id: int
    created_at: str
    captured_at: str | None
    actor: str
    event_id: str | None
    reverses_entry_id: int | None
    rule_version: int | None
    memo: str


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: list[EntryView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ScopedPage:
    """One page of a coordinator's list (appeals, shifts). Its items stay the records as the
    JSON API has always listed them (every column, times as ISO text), as RegistryPage's do."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Accounts:
    db: Database
    clock: Clock
    runner: Runner

    async def adjust(
        self, actor: Principal, event_id: str, account_id: int, amount_points: int, reason: str
    ) -> Adjusted:
        """Credit (amount > 0) from issuance or debit (amount < 0) back to it, with a reason."""
        check_amount(abs(amount_points))
        reason = _check_reason(reason)

        async def action() -> Adjusted:
            account = await _owned_account(account_id)
            issuance = await store.community_account(
                account.community_id, AccountKind.ISSUANCE, issuance_stripe(event_id)
            )
            source, target = (issuance, account_id) if amount_points > 0 else (account_id, issuance)
            transfer = Transfer(source, target, abs(amount_points), EntryKind.ADJUSTMENT, reason)
            posted = await store.post(
                transfer, event_id=event_id, actor=actor.username, now=self.clock.now()
            )
            balance = (
                posted.credit_balance_after if amount_points > 0 else posted.debit_balance_after
            )
            return Adjusted(entry_id=posted.entry_id, balance_points=balance)

        inputs = {"account_id": account_id, "amount_points": amount_points, "reason": reason}
        return await self.runner.once("adjustment", event_id, actor, inputs, action, Adjusted)

    async def reverse(
        self, actor: Principal, event_id: str, entry_id: int, reason: str
    ) -> Reversed:
        """Undo an entry once, by the opposite transfer linked to it."""
        reason = _check_reason(reason)

        async def action() -> Reversed:
            original = await store.find_entry(entry_id)
            if original is None:
                raise NotFound("entry", entry_id)
            # Lock first, then look for a reversal: a concurrent one is then seen committed.
            await locks.lock_accounts(original.debit_account_id, original.credit_account_id)
            if (existing := await store.reversal_of_entry(entry_id)) is not None:
                raise AlreadyReversed(
                    f"entry {entry_id} was already reversed by entry {existing}",
                    reversal_entry_id=existing,
                )
            posted = await store.post(
                reversal_of(original, reason),
                event_id=event_id,
                actor=actor.username,
                now=self.clock.now(),
            )
            return Reversed(entry_id=posted.entry_id, reverses_entry_id=entry_id)

        inputs = {"entry_id": entry_id, "reason": reason}
        return await self.runner.once("reversal", event_id, actor, inputs, action, Reversed)

    async def account(self, viewer: Principal, account_id: int) -> AccountView:
        """Balance of an account its viewer may see (a clerk: households they serve, no history).

        One statement reads the account, its household's compound (the clerk's scope) and its
        open lots by expiry; the checks and their order are those of three separate reads: a
        clerk outside the household's compound is refused before a missing account is named."""
        _check_access(viewer, account_id, history=False)
        found = await reads.account_with_expiring(account_id)
        if viewer.role is Role.CLERK and account_id not in viewer.account_ids:
            compound_id = found.compound_id if found else None
            if compound_id is None or not viewer.covers_compound(compound_id):
                raise OutOfScope("this household is not in a compound you serve")
        if found is None:
            raise NotFound("account", account_id)
        return AccountView(
            id=found.id,
            kind=AccountKind(found.kind).value,
            community_id=found.community_id,
            balance_points=found.balance_points,
            expiring=[Expiring(lot.points, str(lot.expires_on)) for lot in found.expiring],
        )

    @on_replica
    async def entries(
        self, viewer: Principal, account_id: int, cursor: str | None, limit: int
    ) -> EntryPage:
        """An account's entries, newest first, from its members or an admin."""
        _check_access(viewer, account_id, history=True)
        if not 1 <= limit <= PAGE_LIMIT_MAX:
            raise InvalidInput("limit", f"must be between 1 and {PAGE_LIMIT_MAX}")
        if await store.find_account(account_id) is None:
            raise NotFound("account", account_id)
        rows = await store.account_entries(account_id, decode_cursor(cursor), limit + 1)
        items = [_entry_view(row, account_id) for row in rows[:limit]]
        more = len(rows) > limit
        return EntryPage(items, encode_cursor(items[-1].id) if more else None)


async def scoped_page(
    table: registry_store.TableClass,
    viewer: Principal,
    filters: dict[str, Any],
    cursor: str | None,
    limit: int,
) -> ScopedPage:
    """A page of records in the viewer's compounds (all of them for an admin)."""
    if not 1 <= limit <= PAGE_LIMIT_MAX:
        raise InvalidInput("limit", f"must be between 1 and {PAGE_LIMIT_MAX}")
    scope = None if viewer.role is Role.ADMIN else viewer.compound_ids
    rows = await registry_store.page(table, decode_cursor(cursor), limit + 1, filters, scope)
    items = [_jsonable(row) for row in rows[:limit]]
    more = len(rows) > limit
    return ScopedPage(items, encode_cursor(items[-1]["id"]) if more else None)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in row.items()
    }


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """Cursors are opaque to clients; a damaged one is a 400 naming the field."""
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "id" or not number.isdigit() or len(number) > 18:
            raise ValueError(text)
        return int(number)
    except ValueError as error:
        raise InvalidInput("cursor", "not a cursor this server issued") from error


def _check_reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > REASON_LENGTH_MAX:
        raise InvalidInput("reason", f"a reason of 1-{REASON_LENGTH_MAX} characters is required")
    return text


def _check_access(viewer: Principal, account_id: int, *, history: bool) -> None:
    if viewer.role is Role.ADMIN or account_id in viewer.account_ids:
        return
    if viewer.role is Role.CLERK and not history:
        return
    raise Forbidden("this account belongs to someone else")


async def _owned_account(account_id: int) -> store.AccountRow:
    account = await store.find_account(account_id)
    if account is None:
        raise NotFound("account", account_id)
    if account.kind not in OWNED_KINDS:
        raise InvalidInput(
            "account_id", "adjustments apply to household, volunteer or merchant accounts"
        )
    return account


def _isoformat(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _entry_view(row: store.EntryRow, account_id: int) -> EntryView:
    credit = row.credit_account_id == account_id
    return EntryView(
        id=row.id,
        kind=row.kind,
        amount_points=row.amount_points,
        direction="credit" if credit else "debit",
        balance_after_points=row.credit_balance_after if credit else row.debit_balance_after,
        counter_account_id=row.debit_account_id if credit else row.credit_account_id,
        created_at=row.created_at.isoformat(),
        captured_at=_isoformat(row.captured_at),
        actor=row.actor,
        event_id=row.event_id,
        reverses_entry_id=row.reverses_entry_id,
        rule_version=row.rule_version,
        memo=row.memo,
    )
