"""Registry rows: communities, compounds, households, points, posts, merchants, volunteers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.table import Table

from ledger.store import sql
from ledger.store.tables import (
    CollectionPoint,
    Community,
    Compound,
    DutyPost,
    Household,
    Merchant,
    Reward,
    Volunteer,
)

# The services name tables through this alias and never import Piccolo themselves.
TableClass = type[Table]

LISTABLE: dict[str, TableClass] = {
    "communities": Community,
    "compounds": Compound,
    "households": Household,
    "points": CollectionPoint,
    "posts": DutyPost,
    "merchants": Merchant,
    "volunteers": Volunteer,
    "rewards": Reward,
}


async def insert(table: type[Table], **values: Any) -> int:
    rows = await table.insert(table(**values)).returning(table._meta.primary_key)
    return int(rows[0]["id"])


async def get(table: type[Table], row_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await table.select().where(table._meta.primary_key == row_id).first()
    )
    return row


async def page(
    table: type[Table],
    after_id: int | None,
    limit: int,
    filters: dict[str, Any],
    compound_ids: frozenset[int] | None = None,
) -> list[dict[str, Any]]:
    """Rows in id order after a cursor; `compound_ids` limits to a caller's scope."""
    query = table.select()
    for column_name, value in filters.items():
        query = query.where(table._meta.get_column_by_name(column_name) == value)
    if compound_ids is not None:
        query = query.where(table._meta.get_column_by_name("compound").is_in(sorted(compound_ids)))
    if after_id is not None:
        query = query.where(table._meta.primary_key > after_id)
    rows: list[dict[str, Any]] = await query.order_by(table._meta.primary_key).limit(limit)
    return rows


async def exists(table: type[Table], **values: Any) -> bool:
    query = table.exists()
    for column_name, value in values.items():
        query = query.where(table._meta.get_column_by_name(column_name) == value)
    return bool(await query)


BUMP_HOUSEHOLD_CARD_SERIAL = (
    "UPDATE household SET card_serial = card_serial + 1 WHERE id = $1 RETURNING card_serial"
)


async def bump_card_serial(household_id: int) -> int | None:
    """Re-issue a household's card: the new serial makes every older code for it invalid."""
    row = await sql.fetch_one(BUMP_HOUSEHOLD_CARD_SERIAL, household_id)
    return None if row is None else int(row["card_serial"])


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    id: int
    compound_id: int
    account_id: int
    card_serial: int
    join_code: str
    kind: str


async def household(household_id: int) -> HouseholdRow | None:
    row = await (
        Household.select(
            Household.id,
            Household.compound,
            Household.account,
            Household.card_serial,
            Household.join_code,
            Household.kind,
        )
        .where(Household.id == household_id)
        .first()
    )
    if row is None:
        return None
    return HouseholdRow(
        id=row["id"],
        compound_id=row["compound"],
        account_id=row["account"],
        card_serial=row["card_serial"],
        join_code=row["join_code"] or "",
        kind=row["kind"],
    )


@dataclass(frozen=True, slots=True)
class VolunteerRow:
    id: int
    community_id: int
    account_id: int
    name: str


async def volunteer(volunteer_id: int) -> VolunteerRow | None:
    row = await (
        Volunteer.select(Volunteer.id, Volunteer.community, Volunteer.account, Volunteer.name)
        .where(Volunteer.id == volunteer_id)
        .first()
    )
    if row is None:
        return None
    return VolunteerRow(row["id"], row["community"], row["account"], row["name"])


async def household_exists(household_id: int) -> bool:
    return bool(await Household.exists().where(Household.id == household_id))


async def volunteer_exists(volunteer_id: int) -> bool:
    return bool(await Volunteer.exists().where(Volunteer.id == volunteer_id))


async def compound_exists(compound_id: int) -> bool:
    return bool(await Compound.exists().where(Compound.id == compound_id))


_SCANNED_SQL = {
    table: (
        f"SELECT t.*, c.community AS community_id FROM {table} t "  # noqa: S608 (constant names)
        "JOIN compound c ON c.id = t.compound WHERE t.id = $1"
    )
    for table in ("household", "collection_point", "duty_post")
}


async def scanned(table: type[Table], row_id: int) -> dict[str, Any] | None:
    """The row a code names, with its compound's community: one round trip on a scan's path."""
    row = await sql.fetch_one(_SCANNED_SQL[table._meta.tablename], row_id)
    return None if row is None else dict(row)


_CARDED_IN_COMPOUND_SQL = {
    table: (
        f"SELECT t.*, c.community AS community_id FROM {table} t "  # noqa: S608 (constant names)
        "JOIN compound c ON c.id = t.compound WHERE t.compound = $1 ORDER BY t.id"
    )
    for table in ("household", "collection_point", "duty_post")
}


async def carded_in_compound(table: type[Table], compound_id: int) -> list[dict[str, Any]]:
    """Every household, point or post of a compound, in id order, as `scanned` reads one."""
    rows = await sql.fetch(_CARDED_IN_COMPOUND_SQL[table._meta.tablename], compound_id)
    return [dict(row) for row in rows]


async def community_exists(community_id: int) -> bool:
    return await community_name(community_id) is not None


async def community_name(community_id: int) -> str | None:
    row = await get(Community, community_id)
    return None if row is None else str(row["name"])


async def community_of_compound(compound_id: int) -> int | None:
    row = await Compound.select(Compound.community).where(Compound.id == compound_id).first()
    return None if row is None else int(row["community"])


__all__ = [
    "LISTABLE",
    "CollectionPoint",
    "Community",
    "Compound",
    "DutyPost",
    "Household",
    "Merchant",
    "Reward",
    "Volunteer",
]


async def all_in_compound(table: type[Table], compound_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await table.select()
        .where(table._meta.get_column_by_name("compound") == compound_id)
        .order_by(table._meta.primary_key)
    )
    return rows
