"""What the demo's history (services/demo_history.py) reads of the world the seed just made.

Plain reads of whole tables, in id order, so the history draws the same choices every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.store.registry import LISTABLE
from ledger.store.tables import Account


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
    return [DemoCompound(*r) for r in await _in_id_order("compounds", "community", "name", "kind")]


async def households() -> list[DemoHousehold]:
    columns = ("compound", "account", "kind", "building", "card_serial")
    return [DemoHousehold(*r) for r in await _in_id_order("households", *columns)]


async def household_balances() -> dict[int, int]:
    """Every household account's balance, by account id."""
    rows = await Account.select(Account.id, Account.balance_points).where(
        Account.kind == "household"
    )
    return {int(r["id"]): int(r["balance_points"]) for r in rows}


async def points() -> list[DemoPlace]:
    return [DemoPlace(*r) for r in await _in_id_order("points", *_PLACE)]


async def posts() -> list[DemoPlace]:
    return [DemoPlace(*r) for r in await _in_id_order("posts", *_PLACE)]


async def volunteers() -> list[DemoHolder]:
    return [DemoHolder(*r) for r in await _in_id_order("volunteers", *_HOLDER)]


async def merchants() -> list[DemoHolder]:
    return [DemoHolder(*r) for r in await _in_id_order("merchants", *_HOLDER)]


async def rewards() -> list[DemoReward]:
    columns = ("community", "name", "cost_points", "stock", "monthly_limit_per_household")
    return [DemoReward(*r) for r in await _in_id_order("rewards", *columns)]


# The columns after the id, in the order of the dataclass's fields.
_PLACE = ("compound", "name", "card_serial")
_HOLDER = ("community", "account", "name")


async def _in_id_order(listed: str, *columns: str) -> list[tuple[Any, ...]]:
    """The id and these columns of every row of a listable table (registry.LISTABLE)."""
    table = LISTABLE[listed]
    names = ("id", *columns)
    rows = await table.select(*(table._meta.get_column_by_name(name) for name in names)).order_by(
        table._meta.primary_key
    )
    return [tuple(row[name] for name in names) for row in rows]
