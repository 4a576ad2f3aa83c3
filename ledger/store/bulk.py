"""Many registry rows in few statements: the path for CSV loads and the demo seed.

Everything here runs in the caller's write transaction. A household is made exactly as
`Registry.add_household` makes it (its own household account, card serial 1), only many at a
time: one INSERT per CHUNK_ROWS accounts and one per CHUNK_ROWS households instead of four
statements each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.table import Table

from ledger.domain.accounts import AccountKind
from ledger.domain.phones import draw_join_code
from ledger.store import sql
from ledger.store.tables import (
    Account,
    AppUser,
    CollectionPoint,
    Community,
    Compound,
    DutyPost,
    Entry,
    Household,
    Merchant,
    Reward,
    Volunteer,
)

# The rows a CSV load makes, by the load's kind (services/bulk_load.py).
LOADED: dict[str, type[Table]] = {
    "households": Household,
    "shops": Household,
    "offices": Household,
    "points": CollectionPoint,
    "posts": DutyPost,
}
# What `count` counts, by name.
COUNTABLE: dict[str, type[Table]] = {
    "communities": Community,
    "compounds": Compound,
    "households": Household,
    "collection points": CollectionPoint,
    "duty posts": DutyPost,
    "volunteers": Volunteer,
    "merchants": Merchant,
    "rewards": Reward,
    "users": AppUser,
    "ledger entries": Entry,
}

# Well inside both engines' bound-parameter limits (SQLite 32,766; asyncpg 32,767) at 8 columns.
CHUNK_ROWS = 500


async def open_accounts(
    community_id: int, kind: AccountKind, count: int, now: datetime
) -> list[int]:
    """`count` new, empty accounts of one kind; their ids in ascending order."""
    account_ids: list[int] = []
    for start in range(0, count, CHUNK_ROWS):
        size = min(CHUNK_ROWS, count - start)
        accounts = (
            Account(community=community_id, kind=kind.value, stripe=0, created_at=now)
            for _ in range(size)
        )
        rows = await Account.insert(*accounts).returning(Account.id)
        account_ids.extend(int(row["id"]) for row in rows)
    # RETURNING promises no order; the accounts are interchangeable, so any order will do.
    return sorted(account_ids)


async def insert_rows(table: type[Table], rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK_ROWS):
        await table.insert(*(table(**row) for row in rows[start : start + CHUNK_ROWS]))


async def add_households(
    community_id: int,
    compound_id: int,
    addresses: Sequence[tuple[str, str, str]],
    now: datetime,
) -> list[int]:
    """Households at (building, unit, room) addresses, each with its own account.

    Returns the new household account ids. The caller has checked the addresses; the unique
    address index refuses a duplicate that slipped past it, and the transaction rolls back.
    """
    units = [{"building": b, "unit": u, "room": r} for b, u, r in addresses]
    return await _add_units(community_id, compound_id, units, now)


async def add_named_units(
    community_id: int, compound_id: int, kind: str, names: Sequence[str], now: datetime
) -> list[int]:
    """Shops or offices (`kind`) by name, each with its own household-kind account, made as
    `Registry.add_household` makes them; returns the new account ids."""
    units = [{"kind": kind, "name": name, "building": "", "unit": "", "room": ""} for name in names]
    return await _add_units(community_id, compound_id, units, now)


async def _add_units(
    community_id: int, compound_id: int, units: Sequence[dict[str, str]], now: datetime
) -> list[int]:
    account_ids = await open_accounts(community_id, AccountKind.HOUSEHOLD, len(units), now)
    rows = [
        {
            "compound": compound_id,
            **unit,
            "account": account_id,
            "card_serial": 1,
            "created_at": now,
            "join_code": draw_join_code(),
        }
        for unit, account_id in zip(units, account_ids, strict=True)
    ]
    await insert_rows(Household, rows)
    return account_ids


async def add_account_holders(
    table: type[Table], kind: AccountKind, community_id: int, names: Sequence[str], now: datetime
) -> list[int]:
    """Volunteers or merchants, each with its own account; returns the new account ids."""
    account_ids = await open_accounts(community_id, kind, len(names), now)
    rows = [
        {"community": community_id, "name": name, "account": account_id, "created_at": now}
        for name, account_id in zip(names, account_ids, strict=True)
    ]
    await insert_rows(table, rows)
    return account_ids


async def communities_of(compound_ids: Iterable[int]) -> dict[int, int]:
    """The community of each compound that exists; missing compounds are simply absent."""
    return {id_: int(value) for id_, value in (await _of_compounds(compound_ids, "community"))}


async def compound_kinds(compound_ids: Iterable[int]) -> dict[int, str]:
    """The kind of each compound that exists (residential, shop_street, office_building)."""
    return {id_: str(value) for id_, value in (await _of_compounds(compound_ids, "kind"))}


async def _of_compounds(compound_ids: Iterable[int], column: str) -> list[tuple[int, Any]]:
    """(id, column) of each of these compounds that exists."""
    wanted = sorted(set(compound_ids))
    if not wanted:
        return []
    rows = await Compound.select(Compound.id, Compound._meta.get_column_by_name(column)).where(
        Compound.id.is_in(wanted)
    )
    return [(int(row["id"]), row[column]) for row in rows]


async def existing_keys(
    table: type[Table], key_columns: Sequence[str], compound_ids: Iterable[int]
) -> set[tuple[Any, ...]]:
    """(compound, *key_columns) of every row already in those compounds."""
    wanted = sorted(set(compound_ids))
    if not wanted:
        return set()
    compound = table._meta.get_column_by_name("compound")
    columns = [table._meta.get_column_by_name(name) for name in key_columns]
    rows = await table.select(compound, *columns).where(compound.is_in(wanted))
    return {(int(row["compound"]), *(row[name] for name in key_columns)) for row in rows}


async def count(name: str) -> int:
    """How many rows of a COUNTABLE kind the database holds."""
    return int(await COUNTABLE[name].count())


async def existing_loaded(
    kind: str, key_columns: Sequence[str], compound_ids: Iterable[int]
) -> set[tuple[Any, ...]]:
    """(compound, *key_columns) of every row of a load's kind already in those compounds."""
    return await existing_keys(LOADED[kind], key_columns, compound_ids)


async def insert_loaded(kind: str, rows: Sequence[dict[str, Any]]) -> None:
    """Points or posts of a load (households, shops and offices go through `add_…`)."""
    await insert_rows(LOADED[kind], rows)


async def add_volunteers(community_id: int, names: Sequence[str], now: datetime) -> list[int]:
    return await add_account_holders(Volunteer, AccountKind.VOLUNTEER, community_id, names, now)


async def add_merchants(community_id: int, names: Sequence[str], now: datetime) -> list[int]:
    return await add_account_holders(Merchant, AccountKind.MERCHANT, community_id, names, now)


async def add_rewards(rows: Sequence[dict[str, Any]]) -> None:
    await insert_rows(Reward, rows)


async def add_community(name: str, now: datetime) -> int:
    """The community row alone (its accounts: `ledger.open_community_accounts`)."""
    rows = await Community.insert(Community(name=name, created_at=now)).returning(Community.id)
    return int(rows[0]["id"])


async def add_compound(community_id: int, name: str, kind: str | None, now: datetime) -> int:
    """A compound (`kind` None: the column's default, residential)."""
    values: dict[str, Any] = {"community": community_id, "name": name, "created_at": now}
    if kind is not None:
        values["kind"] = kind
    rows = await Compound.insert(Compound(**values)).returning(Compound.id)
    return int(rows[0]["id"])


async def any_community() -> bool:
    return bool(await Community.exists())


@dataclass(frozen=True, slots=True)
class HouseholdCard:
    """What the demo's summary names of a household: its card and its join code."""

    id: int
    account: int
    card_serial: int
    join_code: str


async def first_households(limit: int) -> list[HouseholdCard]:
    """The first households by id."""
    rows = await (
        Household.select(
            Household.id, Household.account, Household.card_serial, Household.join_code
        )
        .order_by(Household.id)
        .limit(limit)
    )
    return [
        HouseholdCard(int(r["id"]), int(r["account"]), int(r["card_serial"]), str(r["join_code"]))
        for r in rows
    ]


async def first_volunteer(community_id: int) -> int | None:
    """The id of a community's first volunteer, if any."""
    row = await (
        Volunteer.select(Volunteer.id)
        .where(Volunteer.community == community_id)
        .order_by(Volunteer.id)
        .first()
    )
    return None if row is None else int(row["id"])


async def users_named(usernames: Sequence[str]) -> list[dict[str, Any]]:
    """The users with these names, by id (rows as `users.principal_of` reads them)."""
    rows: list[dict[str, Any]] = await (
        AppUser.select().where(AppUser.username.is_in(list(usernames))).order_by(AppUser.id)
    )
    return rows


@dataclass(frozen=True, slots=True)
class HomeLabel:
    """A household's compound's name and the parts of its label (services/demo.py)."""

    id: int
    compound_name: str
    kind: str
    building: str
    unit: str
    room: str
    name: str


HOME_LABEL = (
    "SELECT h.id, c.name AS compound_name, h.kind, h.building, h.unit, h.room, h.name "
    "FROM household h JOIN compound c ON c.id = h.compound WHERE h.id = $1"
)


async def home_label(household_id: int) -> HomeLabel | None:
    row = await sql.fetch_one(HOME_LABEL, household_id)
    if row is None:
        return None
    return HomeLabel(
        id=int(row["id"]),
        compound_name=str(row["compound_name"]),
        kind=str(row["kind"]),
        building=str(row["building"]),
        unit=str(row["unit"]),
        room=str(row["room"]),
        name=str(row["name"]),
    )


async def compound_names(compound_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(compound_ids))
    if not wanted:
        return {}
    rows = await Compound.select(Compound.id, Compound.name).where(Compound.id.is_in(wanted))
    return {int(row["id"]): str(row["name"]) for row in rows}


async def volunteer_name(volunteer_id: int) -> str | None:
    row = await Volunteer.select(Volunteer.name).where(Volunteer.id == volunteer_id).first()
    return None if row is None else str(row["name"])
