"""Rewards, redemptions, payments and merchant statements: the rows spending reads and writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.store import locks, records, registry, sql
from ledger.store.tables import (
    Entry,
    Household,
    Merchant,
    Payment,
    Redemption,
    Reward,
    RewardChange,
)

TAKE_STOCK = "UPDATE reward SET stock = stock - $1 WHERE id = $2 AND stock >= $1 RETURNING stock"
RETURN_STOCK = "UPDATE reward SET stock = stock + $1 WHERE id = $2"
BALANCE_BEFORE = (
    "SELECT CASE WHEN credit_account_id = $1 THEN credit_balance_after "
    "ELSE debit_balance_after END AS balance FROM entry "
    "WHERE (credit_account_id = $1 OR debit_account_id = $1) AND created_at < $2 "
    "ORDER BY id DESC LIMIT 1"
)
# A reward as a household's clerk may redeem it: only if it belongs to the community of the
# household's compound, read in the same statement as the reward (one round trip, not two).
REWARD_FOR_COMPOUND = (
    "SELECT id, community, name, cost_points, stock, monthly_limit_per_household, active, "
    "active_from, active_until, exchange_weekdays, created_at FROM reward "
    "WHERE id = $1 AND community = (SELECT community FROM compound WHERE id = $2)"
)


@dataclass(frozen=True, slots=True)
class Spender:
    """The household that spends: whose points, and which compound's clerks serve it."""

    id: int
    compound: int
    account: int


def spender_of(household: Mapping[str, Any]) -> Spender:
    """A household row as read elsewhere (a scanned card's row) as the one that spends."""
    return Spender(int(household["id"]), int(household["compound"]), int(household["account"]))


@dataclass(frozen=True, slots=True)
class RewardRow:
    id: int
    community: int
    name: str
    cost_points: int
    stock: int
    monthly_limit_per_household: int | None
    active: bool
    active_from: date | None
    active_until: date | None
    exchange_weekdays: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MerchantRow:
    id: int
    community: int
    name: str
    account: int


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    id: int
    household: int
    reward: int
    quantity: int
    points: int
    status: str
    entry_id: int


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int
    household: int
    merchant: int
    points: int


@dataclass(frozen=True, slots=True)
class NewRedemption:
    community_id: int
    household_id: int
    reward_id: int
    quantity: int
    points: int
    local_month: str
    entry_id: int
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewPayment:
    community_id: int
    household_id: int
    merchant_id: int
    points: int
    entry_id: int
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StatementEntry:
    id: int
    created_at: datetime
    kind: str
    amount_points: int
    memo: str
    actor: str
    credit_account_id: int


@dataclass(frozen=True, slots=True)
class RewardChangeRow:
    change: str
    details: str
    actor: str
    created_at: datetime


async def household(household_id: int) -> Spender | None:
    row = await registry.get(Household, household_id)
    return None if row is None else spender_of(row)


async def reward(reward_id: int) -> RewardRow | None:
    row = await registry.get(Reward, reward_id)
    return None if row is None else RewardRow(**row)


async def reward_for_compound(reward_id: int, compound_id: int) -> RewardRow | None:
    """The reward, if it is offered in the community of `compound_id` (None otherwise)."""
    row = await sql.fetch_one(REWARD_FOR_COMPOUND, reward_id, compound_id)
    return None if row is None else RewardRow(**dict(row))


async def merchant(merchant_id: int) -> MerchantRow | None:
    row = await registry.get(Merchant, merchant_id)
    if row is None:
        return None
    return MerchantRow(row["id"], row["community"], row["name"], row["account"])


async def redemption(redemption_id: int) -> RedemptionRow | None:
    row = await registry.get(Redemption, redemption_id)
    if row is None:
        return None
    return RedemptionRow(
        id=row["id"],
        household=row["household"],
        reward=row["reward"],
        quantity=row["quantity"],
        points=row["points"],
        status=row["status"],
        entry_id=row["entry_id"],
    )


async def payment(payment_id: int) -> PaymentRow | None:
    row = await registry.get(Payment, payment_id)
    if row is None:
        return None
    return PaymentRow(row["id"], row["household"], row["merchant"], row["points"])


async def lock_redemption(redemption_id: int) -> None:
    """Hold a redemption until commit: two refunds of it are decided one after the other."""
    await locks.lock_row(Redemption, redemption_id)


async def add_redemption(new: NewRedemption) -> int:
    return await registry.insert(
        Redemption,
        community_id=new.community_id,
        household=new.household_id,
        reward=new.reward_id,
        quantity=new.quantity,
        points=new.points,
        local_month=new.local_month,
        status="done",
        entry_id=new.entry_id,
        actor=new.actor,
        created_at=new.created_at,
    )


async def mark_refunded(redemption_id: int, refund_entry_id: int) -> None:
    await records.update_row(
        Redemption, redemption_id, {"status": "refunded", "refund_entry_id": refund_entry_id}
    )


async def add_payment(new: NewPayment) -> int:
    return await registry.insert(
        Payment,
        community_id=new.community_id,
        household=new.household_id,
        merchant=new.merchant_id,
        points=new.points,
        entry_id=new.entry_id,
        actor=new.actor,
        created_at=new.created_at,
    )


async def redeemed_this_month(household_id: int, reward_id: int, month: str) -> int:
    rows = await Redemption.select(Redemption.quantity).where(
        Redemption.household == household_id,
        Redemption.reward == reward_id,
        Redemption.local_month == month,
        Redemption.status == "done",
    )
    return sum(int(row["quantity"]) for row in rows)


async def take_stock(reward_id: int, quantity: int) -> bool:
    """One conditional UPDATE: stock never goes below zero, whatever runs beside it."""
    return bool(await sql.fetch(TAKE_STOCK, quantity, reward_id))


async def return_stock(reward_id: int, quantity: int) -> None:
    await sql.fetch(RETURN_STOCK, quantity, reward_id)


async def add_reward(community_id: int, values: dict[str, Any], now: datetime) -> int:
    """`values`: the reward's columns by name (name, cost_points, stock, …)."""
    return await registry.insert(
        Reward, community=community_id, active=True, created_at=now, **values
    )


async def change_reward(reward_id: int, values: dict[str, Any]) -> None:
    """`values`: the columns to change, by name."""
    await records.update_row(Reward, reward_id, values)


async def retire_reward(reward_id: int) -> None:
    await Reward.update({Reward.active: False}).where(Reward.id == reward_id)


async def add_reward_change(
    reward_id: int, change: str, details: str, actor: str, now: datetime
) -> None:
    await registry.insert(
        RewardChange,
        reward=reward_id,
        change=change,
        details=details,
        actor=actor,
        created_at=now,
    )


async def reward_changes(reward_id: int) -> list[RewardChangeRow]:
    rows = (
        await RewardChange.select(
            RewardChange.change, RewardChange.details, RewardChange.actor, RewardChange.created_at
        )
        .where(RewardChange.reward == reward_id)
        .order_by(RewardChange.id)
    )
    return [RewardChangeRow(**row) for row in rows]


async def account_entries_between(
    account_id: int, start: datetime, end: datetime
) -> list[StatementEntry]:
    rows = await (
        Entry.select(
            Entry.id,
            Entry.created_at,
            Entry.kind,
            Entry.amount_points,
            Entry.memo,
            Entry.actor,
            Entry.credit_account_id,
        )
        .where(
            (Entry.debit_account_id == account_id) | (Entry.credit_account_id == account_id),
            Entry.created_at >= start,
            Entry.created_at < end,
        )
        .order_by(Entry.id)
    )
    return [StatementEntry(**row) for row in rows]


async def balance_before(account_id: int, moment: datetime) -> int:
    """The balance just before `moment`, from the entries' recorded balances after."""
    row = await sql.fetch_one(BALANCE_BEFORE, account_id, moment)
    return 0 if row is None else int(row["balance"])
