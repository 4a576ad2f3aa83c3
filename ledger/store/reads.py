"""The two hot reads, each one constant statement: an account with its expiring points, and a
board's fact head with the labels of the rows it lists.

On PostgreSQL the text goes straight to asyncpg (prepared once per connection, no query
building); on SQLite through `Table.raw`, as the rest of the store does. Inside an open
transaction both run on its connection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from ledger.store.tables import Account

Row = Mapping[str, Any]

# One row per expiry date with points left (one row of NULLs when none is left), each with the
# account's columns and its household's compound (NULL for any other account); no row when
# the account does not exist. The lot subquery is answered from the partial index
# `lot_account_open` (migration 2026-11-25T13:30), index only once the visibility map is set.
_ACCOUNT_PG = (
    "SELECT a.id, a.community, a.kind, a.balance_points, "
    "(SELECT h.compound FROM household h WHERE h.account = a.id) AS compound_id, "
    "l.expires_on, l.points "
    "FROM account a LEFT JOIN ("
    "SELECT expires_on, SUM(remaining_points) AS points FROM lot "
    "WHERE account_id = $1 AND remaining_points > 0 GROUP BY expires_on"
    ") l ON TRUE WHERE a.id = $1 ORDER BY l.expires_on"
)
_ACCOUNT_SQLITE = (
    "SELECT a.id, a.community, a.kind, a.balance_points, "
    "(SELECT h.compound FROM household h WHERE h.account = a.id) AS compound_id, "
    "l.expires_on, l.points "
    "FROM account a LEFT JOIN ("
    "SELECT expires_on, SUM(remaining_points) AS points FROM lot "
    "WHERE account_id = {} AND remaining_points > 0 GROUP BY expires_on"
    ") l ON 1 = 1 WHERE a.id = {} ORDER BY l.expires_on"
)

# The board facts' head (what the projection is compared with) and the listed rows' labels.
_HEAD = "(SELECT COALESCE(MAX(seq), 0) AS head FROM board_fact) f"
_HOUSEHOLDS_PG = (
    f"SELECT f.head, h.id, h.building, h.unit, h.room FROM {_HEAD} "  # noqa: S608 (constant)
    "LEFT JOIN household h ON h.id = ANY($1::bigint[])"
)
_HOUSEHOLDS_SQLITE = (
    f"SELECT f.head, h.id, h.building, h.unit, h.room FROM {_HEAD} "  # noqa: S608 (constant)
    "LEFT JOIN household h ON h.id IN (SELECT value FROM json_each({}))"
)
_VOLUNTEERS_PG = (
    f"SELECT f.head, v.id, v.name FROM {_HEAD} "  # noqa: S608 (constant)
    "LEFT JOIN volunteer v ON v.id = ANY($1::bigint[])"
)
_VOLUNTEERS_SQLITE = (
    f"SELECT f.head, v.id, v.name FROM {_HEAD} "  # noqa: S608 (constant)
    "LEFT JOIN volunteer v ON v.id IN (SELECT value FROM json_each({}))"
)
_COMPOUND_PG = "SELECT community FROM compound WHERE id = $1"
_COMPOUND_SQLITE = "SELECT community FROM compound WHERE id = {}"


async def account_with_expiring(account_id: int) -> Sequence[Row]:
    """The account, its household's compound and its open lots by expiry date, in one go."""
    return await _fetch(_ACCOUNT_PG, _ACCOUNT_SQLITE, (account_id,), (account_id, account_id))


async def head_and_households(ids: list[int]) -> tuple[int, dict[int, Row]]:
    """The board facts' head, and building/unit/room of these households."""
    rows = await _fetch(_HOUSEHOLDS_PG, _HOUSEHOLDS_SQLITE, (ids,), (json.dumps(ids),))
    return int(rows[0]["head"]), {int(r["id"]): r for r in rows if r["id"] is not None}


async def head_and_volunteers(ids: list[int]) -> tuple[int, dict[int, str]]:
    """The board facts' head, and the names of these volunteers."""
    rows = await _fetch(_VOLUNTEERS_PG, _VOLUNTEERS_SQLITE, (ids,), (json.dumps(ids),))
    return int(rows[0]["head"]), {int(r["id"]): str(r["name"]) for r in rows if r["id"] is not None}


async def community_of_compound(compound_id: int) -> int | None:
    rows = await _fetch(_COMPOUND_PG, _COMPOUND_SQLITE, (compound_id,), (compound_id,))
    return int(rows[0]["community"]) if rows else None


async def _fetch(
    postgres: str, sqlite: str, pg_args: tuple[Any, ...], sqlite_args: tuple[Any, ...]
) -> Sequence[Row]:
    engine = Account._meta.db
    if not isinstance(engine, PostgresEngine):
        rows: Sequence[Row] = await Account.raw(sqlite, *sqlite_args)
        return rows
    transaction = engine.current_transaction.get()
    if transaction is not None:
        rows = await transaction.connection.fetch(postgres, *pg_args)
        return rows
    if engine.pool is None:
        connection = await engine.get_new_connection()
        try:
            rows = await connection.fetch(postgres, *pg_args)
            return rows
        finally:
            await connection.close()
    async with engine.pool.acquire() as connection:
        rows = await connection.fetch(postgres, *pg_args)
        return rows
