"""Points expire by lots: a job writes expiry entries; reminders list what expires soon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ledger.domain.accounts import AccountKind
from ledger.domain.entries import EntryKind, Transfer
from ledger.domain.errors import InvalidInput
from ledger.domain.localtime import local_day
from ledger.domain.notices import (
    EXPIRING_WITHIN_DAYS,
    Draft,
    NoticeKind,
    expiring_source,
    warning_due,
)
from ledger.ports import Clock
from ledger.store import ledger as ledger_store
from ledger.store import locks, lots
from ledger.store import notices as notice_store
from ledger.store.engine import Database
from ledger.store.expiry import ExpiringAccount, expiring_accounts

ACCOUNTS_PER_BATCH = 200
WITHIN_DAYS_MAX = 366


@dataclass(frozen=True, slots=True)
class ExpiryRun:
    as_of: str  # ISO day
    accounts: int
    expired_points: int


@dataclass(frozen=True, slots=True)
class Warned:
    as_of: str  # ISO day
    warned: int


@dataclass(frozen=True)
class Expiry:
    db: Database
    clock: Clock

    async def run(self, as_of: date | None = None) -> ExpiryRun:
        """Expire every lot whose last valid day is before `as_of` (default: today, local).

        One short transaction per account, after taking its row lock, so it runs beside live
        traffic; a lot already taken by spending or by an earlier run is not taken again, which
        also makes a second run a no-op.
        """
        as_of = as_of or local_day(self.clock.now())
        accounts = points = 0
        after = 0
        while batch := await lots.accounts_with_due_lots(as_of, after, ACCOUNTS_PER_BATCH):
            for account_id in batch:
                expired = await self._expire_account(account_id, as_of)
                accounts += expired > 0
                points += expired
            after = batch[-1]
        return ExpiryRun(as_of=as_of.isoformat(), accounts=accounts, expired_points=points)

    async def _expire_account(self, account_id: int, as_of: date) -> int:
        async with self.db.write():
            await locks.lock_account(account_id)
            due = await lots.due(account_id, as_of)
            total = sum(lot["points"] for lot in due)
            if total == 0:
                return 0
            account = await ledger_store.find_account(account_id)
            assert account is not None, "a lot's account exists"
            sink = await ledger_store.community_account(account.community_id, AccountKind.EXPIRED)
            transfer = Transfer(
                account_id, sink, total, EntryKind.EXPIRY, f"expired before {as_of}"
            )
            await ledger_store.post(
                transfer,
                event_id=f"expiry:{account_id}:{as_of}",
                actor="system",
                now=self.clock.now(),
            )
        return total

    async def warn(self) -> Warned:
        """Tell each household whose points expire within EXPIRING_WITHIN_DAYS days, at most
        once a week: a `points_expiring` notice fact per household, each in a short transaction
        with the check of its last warning (`greenledger expire` runs this after expiring)."""
        now = self.clock.now()
        today = local_day(now)
        horizon = today + timedelta(days=EXPIRING_WITHIN_DAYS)
        warned = after = 0
        while batch := await expiring_accounts(None, today, horizon, after, ACCOUNTS_PER_BATCH):
            for row in batch:
                if row.household_id is not None:
                    warned += await self._warn_household(row.household_id, row, today)
            after = batch[-1].account_id
        return Warned(as_of=today.isoformat(), warned=warned)

    async def _warn_household(self, household_id: int, row: ExpiringAccount, today: date) -> int:
        async with self.db.write():
            now = self.clock.now()
            last = await notice_store.last_warned(household_id, NoticeKind.POINTS_EXPIRING)
            if not warning_due(last, now):
                return 0
            fields = {
                "points": row.points,
                "expires_on": row.first_expires_on,
                "within_days": EXPIRING_WITHIN_DAYS,
            }
            draft = Draft(
                NoticeKind.POINTS_EXPIRING,
                expiring_source(household_id, today),
                fields,
                household_id=household_id,
            )
            await notice_store.record([draft], now)
        return 1

    async def expiring(
        self, community_id: int | None, within_days: int, after_account_id: int, limit: int
    ) -> list[ExpiringAccount]:
        """Accounts with points whose last valid day falls within the next `within_days` days."""
        if not 1 <= within_days <= WITHIN_DAYS_MAX:
            raise InvalidInput("within_days", f"must be between 1 and {WITHIN_DAYS_MAX}")
        today = local_day(self.clock.now())
        horizon = today + timedelta(days=within_days)
        return await expiring_accounts(community_id, today, horizon, after_account_id, limit)
