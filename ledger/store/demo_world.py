"""What the demo's history (services/demo_history.py) reads of the world the seed just made.

Plain reads of whole tables, in id order, so the history draws the same choices every run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.store.tables import (
    Account,
    CollectionPoint,
    Compound,
    DutyPost,
    Household,
    Merchant,
    Reward,
    Volunteer,
)


@dataclass(frozen=True, slots=True)
class DemoCompound:
    id: int
    community: int
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class DemoHousehold:
    id: int
    compound: int
    account: int
    kind: str
    building: str
    card_serial: int


@dataclass(frozen=True, slots=True)
class DemoPlace:
    """A collection point or a duty post."""

    id: int
    compound: int
    name: str
    card_serial: int


@dataclass(frozen=True, slots=True)
class DemoHolder:
    """A volunteer or a merchant, with its account."""

    id: int
    community: int
    account: int
    name: str


@dataclass(frozen=True, slots=True)
class DemoReward:
    id: int
    community: int
    name: str
    cost_points: int
    stock: int
    monthly_limit: int | None


async def compounds() -> list[DemoCompound]:
    rows = await Compound.select(
        Compound.id, Compound.community, Compound.name, Compound.kind
    ).order_by(Compound.id)
    return [DemoCompound(r["id"], r["community"], r["name"], r["kind"]) for r in rows]


async def households() -> list[DemoHousehold]:
    rows = await Household.select(
        Household.id,
        Household.compound,
        Household.account,
        Household.kind,
        Household.building,
        Household.card_serial,
    ).order_by(Household.id)
    return [
        DemoHousehold(
            r["id"], r["compound"], r["account"], r["kind"], r["building"], r["card_serial"]
        )
        for r in rows
    ]


async def household_balances() -> dict[int, int]:
    """Every household account's balance, by account id."""
    rows = await Account.select(Account.id, Account.balance_points).where(
        Account.kind == "household"
    )
    return {int(r["id"]): int(r["balance_points"]) for r in rows}


async def points() -> list[DemoPlace]:
    rows = await CollectionPoint.select(
        CollectionPoint.id,
        CollectionPoint.compound,
        CollectionPoint.name,
        CollectionPoint.card_serial,
    ).order_by(CollectionPoint.id)
    return [DemoPlace(r["id"], r["compound"], r["name"], r["card_serial"]) for r in rows]


async def posts() -> list[DemoPlace]:
    rows = await DutyPost.select(
        DutyPost.id, DutyPost.compound, DutyPost.name, DutyPost.card_serial
    ).order_by(DutyPost.id)
    return [DemoPlace(r["id"], r["compound"], r["name"], r["card_serial"]) for r in rows]


async def volunteers() -> list[DemoHolder]:
    rows = await Volunteer.select(
        Volunteer.id, Volunteer.community, Volunteer.account, Volunteer.name
    ).order_by(Volunteer.id)
    return [DemoHolder(r["id"], r["community"], r["account"], r["name"]) for r in rows]


async def merchants() -> list[DemoHolder]:
    rows = await Merchant.select(
        Merchant.id, Merchant.community, Merchant.account, Merchant.name
    ).order_by(Merchant.id)
    return [DemoHolder(r["id"], r["community"], r["account"], r["name"]) for r in rows]


async def rewards() -> list[DemoReward]:
    rows = await Reward.select(
        Reward.id,
        Reward.community,
        Reward.name,
        Reward.cost_points,
        Reward.stock,
        Reward.monthly_limit_per_household,
    ).order_by(Reward.id)
    return [
        DemoReward(
            r["id"],
            r["community"],
            r["name"],
            r["cost_points"],
            r["stock"],
            r["monthly_limit_per_household"],
        )
        for r in rows
    ]
