"""Spending: redemptions (and refunds), merchant payments, settlement and statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.domain.access import Principal, Role, labelled
from ledger.domain.accounts import AccountKind
from ledger.domain.entries import EntryKind, Transfer, check_amount, reversal_of
from ledger.domain.errors import AlreadyReversed, Forbidden, InvalidInput, NotFound, OutOfScope
from ledger.domain.localtime import day_bounds, local_day
from ledger.domain.rewards import NothingToSettle, OutOfStock, redemption_points
from ledger.ports import Clock
from ledger.services.catalog import terms_of
from ledger.services.codes import Codes
from ledger.services.runner import Runner
from ledger.store import ledger as ledger_store
from ledger.store import locks
from ledger.store import registry as registry_store
from ledger.store import spending as store
from ledger.store.spending import MerchantRow as MerchantRow  # the merchant pages show
from ledger.store.spending import NewPayment, NewRedemption, Spender, StatementEntry


@dataclass(frozen=True, slots=True)
class Redeemed:
    redemption_id: int
    entry_id: int
    points: int
    balance_points: int
    redeemed_at: str


@dataclass(frozen=True, slots=True)
class Refunded:
    redemption_id: int
    entry_id: int
    points: int
    balance_points: int


@dataclass(frozen=True, slots=True)
class Paid:
    payment_id: int
    entry_id: int
    balance_points: int
    paid_at: str


@dataclass(frozen=True, slots=True)
class Settled:
    merchant_id: int
    entry_id: int
    settled_points: int
    settled_at: str


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    at: str
    kind: str
    points: int
    memo: str
    actor: str


@dataclass(frozen=True, slots=True)
class MerchantStatement:
    """A merchant's statement for local days `first_day`..`last_day` (the API's from/to)."""

    merchant_id: int
    merchant: str
    first_day: date
    last_day: date
    opening_balance_points: int
    received_points: int
    settled_points: int
    closing_balance_points: int
    lines: list[StatementLine]


@dataclass(frozen=True)
class Spending:
    clock: Clock
    runner: Runner
    codes: Codes

    async def redeem(
        self,
        actor: Principal,
        event_id: str,
        household_ref: str | int,
        reward_id: int,
        quantity: int,
    ) -> Redeemed:
        """Balance, stock and the monthly limit are checked and changed together, or not at all."""
        inputs = {"household": household_ref, "reward_id": reward_id, "quantity": quantity}

        async def action() -> Redeemed:
            household = await self._household(actor, household_ref)
            # The reward and its community's match with the household's, in one statement.
            reward = await store.reward_for_compound(reward_id, household.compound)
            if reward is None:
                raise NotFound("reward", reward_id)
            community_id = reward.community
            now = self.clock.now()
            today = local_day(now)
            await locks.lock_account(household.account)
            month = today.strftime("%Y-%m")
            before = await store.redeemed_this_month(household.id, reward_id, month)
            balance = await ledger_store.find_account(household.account)
            assert balance is not None, "a household's account exists"
            points = redemption_points(
                terms_of(reward),
                quantity,
                today,
                before,
                balance_points=balance.balance_points,
                stock=reward.stock,
            )
            if not await store.take_stock(reward_id, quantity):
                raise OutOfStock(f"only {reward.stock} left", stock=reward.stock)
            sink = await ledger_store.community_account(community_id, AccountKind.REDEEMED)
            memo = labelled(f"{reward.name} × {quantity}", actor, household.id)
            transfer = Transfer(household.account, sink, points, EntryKind.REDEMPTION, memo)
            posted = await ledger_store.post(
                transfer, event_id=event_id, actor=actor.username, now=now
            )
            redemption_id = await store.add_redemption(
                NewRedemption(
                    community_id=community_id,
                    household_id=household.id,
                    reward_id=reward_id,
                    quantity=quantity,
                    points=points,
                    local_month=month,
                    entry_id=posted.entry_id,
                    actor=actor.username,
                    created_at=now,
                )
            )
            return Redeemed(
                redemption_id=redemption_id,
                entry_id=posted.entry_id,
                points=points,
                balance_points=posted.debit_balance_after,
                redeemed_at=now.isoformat(),
            )

        return await self.runner.once("redemption", event_id, actor, inputs, action, Redeemed)

    async def refund(
        self, actor: Principal, event_id: str, redemption_id: int, reason: str
    ) -> Refunded:
        """Points and stock go back, once."""
        text = reason.strip()
        if not text:
            raise InvalidInput("reason", "say why the redemption is refunded")

        async def action() -> Refunded:
            await store.lock_redemption(redemption_id)
            redemption = await store.redemption(redemption_id)
            if redemption is None:
                raise NotFound("redemption", redemption_id)
            household = await store.household(redemption.household)
            assert household is not None, "foreign key"
            if not actor.covers_compound(household.compound):
                raise OutOfScope("this household is not in a compound you serve")
            # Same lock order as a redemption (household, reward, then the sink), so refunds and
            # redemptions do not deadlock; a concurrent refund of this one is seen once it commits.
            await locks.lock_account(household.account)
            redemption = await store.redemption(redemption_id)
            assert redemption is not None, "redemptions are never deleted"
            if redemption.status != "done":
                raise AlreadyReversed(f"redemption {redemption_id} was already refunded")
            # The entry may have been reversed directly (POST /entries/{id}/reverse).
            existing = await ledger_store.reversal_of_entry(redemption.entry_id)
            if existing is not None:
                raise AlreadyReversed(
                    f"redemption {redemption_id}'s entry was already reversed by entry {existing}",
                    reversal_entry_id=existing,
                )
            original = await ledger_store.find_entry(redemption.entry_id)
            assert original is not None, "a redemption's entry exists"
            await store.return_stock(redemption.reward, redemption.quantity)
            now = self.clock.now()
            posted = await ledger_store.post(
                reversal_of(original, f"refund: {text}", allow_redemption=True),
                event_id=event_id,
                actor=actor.username,
                now=now,
            )
            await store.mark_refunded(redemption_id, posted.entry_id)
            return Refunded(
                redemption_id=redemption_id,
                entry_id=posted.entry_id,
                points=redemption.points,
                balance_points=posted.credit_balance_after,
            )

        inputs = {"redemption_id": redemption_id, "reason": text}
        return await self.runner.once("refund", event_id, actor, inputs, action, Refunded)

    async def pay(
        self,
        actor: Principal,
        event_id: str,
        household_token: str,
        merchant_id: int,
        amount_points: int,
    ) -> Paid:
        """A household pays a partner merchant in points, up to its balance."""
        check_amount(amount_points)
        inputs = {
            "household": household_token,
            "merchant_id": merchant_id,
            "amount_points": amount_points,
        }

        async def action() -> Paid:
            household = await self._household(actor, household_token)
            merchant = await store.merchant(merchant_id)
            community_id = await _community(household.compound)
            if merchant is None or merchant.community != community_id:
                raise NotFound("merchant", merchant_id)
            now = self.clock.now()
            transfer = Transfer(
                household.account,
                merchant.account,
                amount_points,
                EntryKind.PAYMENT,
                merchant.name,
            )
            posted = await ledger_store.post(
                transfer, event_id=event_id, actor=actor.username, now=now
            )
            payment_id = await store.add_payment(
                NewPayment(
                    community_id=community_id,
                    household_id=household.id,
                    merchant_id=merchant_id,
                    points=amount_points,
                    entry_id=posted.entry_id,
                    actor=actor.username,
                    created_at=now,
                )
            )
            return Paid(
                payment_id=payment_id,
                entry_id=posted.entry_id,
                balance_points=posted.debit_balance_after,
                paid_at=now.isoformat(),
            )

        return await self.runner.once("payment", event_id, actor, inputs, action, Paid)

    async def settle(self, actor: Principal, event_id: str, merchant_id: int) -> Settled:
        """Move everything a merchant holds to the settled sink (the subdistrict pays out)."""

        async def action() -> Settled:
            merchant = await self.merchant(merchant_id)
            # Read the balance under the row lock: a concurrent settlement is then seen as done.
            await locks.lock_account(merchant.account)
            account = await ledger_store.find_account(merchant.account)
            assert account is not None, "a merchant's account exists"
            if account.balance_points == 0:
                raise NothingToSettle(f"merchant {merchant_id} holds no points")
            sink = await ledger_store.community_account(merchant.community, AccountKind.SETTLED)
            transfer = Transfer(
                merchant.account,
                sink,
                account.balance_points,
                EntryKind.SETTLEMENT,
                f"settlement of {merchant.name}",
            )
            now = self.clock.now()
            posted = await ledger_store.post(
                transfer, event_id=event_id, actor=actor.username, now=now
            )
            return Settled(
                merchant_id=merchant_id,
                entry_id=posted.entry_id,
                settled_points=account.balance_points,
                settled_at=now.isoformat(),
            )

        return await self.runner.once(
            "settlement", event_id, actor, {"merchant_id": merchant_id}, action, Settled
        )

    async def merchant(self, merchant_id: int) -> MerchantRow:
        merchant = await store.merchant(merchant_id)
        if merchant is None:
            raise NotFound("merchant", merchant_id)
        return merchant

    async def statement(
        self, merchant_id: int, first_day: date, last_day: date
    ) -> MerchantStatement:
        """Payments received and settlements, with opening and closing balances, for local days."""
        if last_day < first_day or (last_day - first_day).days > 366:
            raise InvalidInput("to", "must be on or after `from`, within a year")
        merchant = await self.merchant(merchant_id)
        start, end = day_bounds(first_day)[0], day_bounds(last_day)[1]
        entries = await store.account_entries_between(merchant.account, start, end)
        lines = [_statement_line(entry, merchant.account) for entry in entries]
        opening = await store.balance_before(merchant.account, start)
        # Net of everything but settlements: payments, less any payment reversed since.
        received = sum(line.points for line in lines if line.kind != "settlement")
        settled = -sum(line.points for line in lines if line.kind == "settlement")
        return MerchantStatement(
            merchant_id=merchant_id,
            merchant=merchant.name,
            first_day=first_day,
            last_day=last_day,
            opening_balance_points=opening,
            received_points=received,
            settled_points=settled,
            closing_balance_points=opening + sum(line.points for line in lines),
            lines=lines,
        )

    async def _household(self, actor: Principal, reference: str | int) -> Spender:
        """A clerk scans the card; a resident names their own household."""
        if isinstance(reference, int):
            if actor.role is not Role.ADMIN and reference not in actor.households():
                raise Forbidden("a resident redeems for their own household only")
            household = await store.household(reference)
            if household is None:
                raise NotFound("household", reference)
            return household
        scanned = await self.codes.household(reference, actor)
        household = Spender(scanned.id, scanned.compound, scanned.account)
        if not actor.covers_compound(household.compound):
            raise OutOfScope("this household is not in a compound you serve")
        return household


def _statement_line(entry: StatementEntry, account_id: int) -> StatementLine:
    credit = entry.credit_account_id == account_id
    return StatementLine(
        entry_id=entry.id,
        at=entry.created_at.isoformat(),
        kind=entry.kind,
        points=entry.amount_points if credit else -entry.amount_points,
        memo=entry.memo,
        actor=entry.actor,
    )


async def _community(compound_id: int) -> int:
    community_id = await registry_store.community_of_compound(compound_id)
    assert community_id is not None, "a compound's community exists"
    return community_id
