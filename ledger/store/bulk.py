"""Many registry rows in few statements: the path for CSV loads and the demo seed.

Everything here runs in the caller's write transaction. A household is made exactly as
`Registry.add_household` makes it (its own household account, card serial 1), only many at a
time: one INSERT per CHUNK_ROWS accounts and one per CHUNK_ROWS households instead of four
statements each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from piccolo.table import Table

from ledger.domain.accounts import AccountKind
from ledger.domain.phones import draw_join_code
from ledger.store.tables import Account, Compound, Household

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
    wanted = sorted(set(compound_ids))
    if not wanted:
        return {}
    rows = await Compound.select(Compound.id, Compound.community).where(Compound.id.is_in(wanted))
    return {int(row["id"]): int(row["community"]) for row in rows}


async def compound_kinds(compound_ids: Iterable[int]) -> dict[int, str]:
    """The kind of each compound that exists (residential, shop_street, office_building)."""
    wanted = sorted(set(compound_ids))
    if not wanted:
        return {}
    rows = await Compound.select(Compound.id, Compound.kind).where(Compound.id.is_in(wanted))
    return {int(row["id"]): str(row["kind"]) for row in rows}


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


async def count(table: type[Table]) -> int:
    return int(await table.count())
