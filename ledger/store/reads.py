"""The two hot reads, each one constant statement: an account with its expiring points, and a
board's fact head with the labels of the rows it lists.

Sent through `store.sql` (constant text, prepared once per connection on PostgreSQL; inside
an open transaction on its connection). Only a list of ids differs between the engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.store import sql

# One row per expiry date with points left (one row of NULLs when none is left), each with the
# account's columns and its household's compound (NULL for any other account); no row when
# the account does not exist. The points left per expiry date come from `lot_total` (kept with
# every lot change, docs/decisions/2026-12-04-lot-totals.md): a few rows however long the
# account's history, found by its unique index (account_id, expires_on).
_ACCOUNT = (
    "SELECT a.id, a.community, a.kind, a.balance_points, "
    "(SELECT h.compound FROM household h WHERE h.account = a.id) AS compound_id, "
    "l.expires_on, l.points "
    "FROM account a LEFT JOIN ("
    "SELECT expires_on, points FROM lot_total WHERE account_id = $1 AND points > 0"
    ") l ON 1 = 1 WHERE a.id = $1 ORDER BY l.expires_on"
)

_COMPOUND = "SELECT community FROM compound WHERE id = $1"


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    points: int
    expires_on: date | str


@dataclass(frozen=True, slots=True)
class AccountWithExpiring:
    """An account, its household's compound (None for any other account) and its open lots."""

    id: int
    kind: str
    community_id: int
    balance_points: int
    compound_id: int | None
    expiring: list[ExpiringLot]


async def account_with_expiring(account_id: int) -> AccountWithExpiring | None:
    """The account, its household's compound and its open lots by expiry date, in one go."""
    rows = await sql.fetch(_ACCOUNT, account_id)
    if not rows:
        return None
    first = rows[0]
    compound_id = first["compound_id"]
    return AccountWithExpiring(
        id=first["id"],
        kind=first["kind"],
        community_id=first["community"],
        balance_points=first["balance_points"],
        compound_id=None if compound_id is None else int(compound_id),
        expiring=[
            ExpiringLot(int(row["points"]), row["expires_on"])
            for row in rows
            if row["points"] is not None
        ],
    )


async def community_of_compound(compound_id: int) -> int | None:
    rows = await sql.fetch(_COMPOUND, compound_id)
    return int(rows[0]["community"]) if rows else None
