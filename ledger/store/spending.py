"""Queries for redemptions, payments and merchant statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.store.tables import Entry, Redemption, Reward


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
    rows = await Reward.raw(
        "UPDATE reward SET stock = stock - {} WHERE id = {} AND stock >= {} RETURNING stock",
        quantity,
        reward_id,
        quantity,
    )
    return bool(rows)


async def return_stock(reward_id: int, quantity: int) -> None:
    await Reward.raw("UPDATE reward SET stock = stock + {} WHERE id = {}", quantity, reward_id)


async def account_entries_between(
    account_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await (
        Entry.select()
        .where(
            (Entry.debit_account_id == account_id) | (Entry.credit_account_id == account_id),
            Entry.created_at >= start,
            Entry.created_at < end,
        )
        .order_by(Entry.id)
    )
    return rows


async def balance_before(account_id: int, moment: datetime) -> int:
    """The balance just before `moment`, from the entries' recorded balances after."""
    rows = await Entry.raw(
        "SELECT CASE WHEN credit_account_id = {} THEN credit_balance_after "
        "ELSE debit_balance_after END AS balance FROM entry "
        "WHERE (credit_account_id = {} OR debit_account_id = {}) AND created_at < {} "
        "ORDER BY id DESC LIMIT 1",
        account_id,
        account_id,
        account_id,
        moment,
    )
    return int(rows[0]["balance"]) if rows else 0
