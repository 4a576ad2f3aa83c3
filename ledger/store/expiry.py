"""Points about to expire: the accounts whose lots' last valid day falls within a horizon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.store import sql

_EXPIRING = (
    "SELECT l.account_id, a.kind, a.community AS community_id, h.id AS household_id, "
    "MIN(l.expires_on) AS first_expires_on, SUM(l.remaining_points) AS points "
    "FROM lot l JOIN account a ON a.id = l.account_id "
    "LEFT JOIN household h ON h.account = l.account_id "
    "WHERE l.remaining_points > 0 AND l.expires_on >= $1 AND l.expires_on <= $2 "
    "AND l.account_id > $3{community} "
    "GROUP BY l.account_id, a.kind, a.community, h.id ORDER BY l.account_id LIMIT $4"
)
EXPIRING_ACCOUNTS = _EXPIRING.format(community="")
EXPIRING_ACCOUNTS_OF_COMMUNITY = _EXPIRING.format(community=" AND a.community = $5")


@dataclass(frozen=True, slots=True)
class ExpiringAccount:
    account_id: int
    kind: str
    community_id: int | None
    household_id: int | None
    points: int
    first_expires_on: str  # ISO day


async def expiring_accounts(
    community_id: int | None, today: date, horizon: date, after_account_id: int, limit: int
) -> list[ExpiringAccount]:
    """In account id order after `after_account_id`; every community's when `community_id` is
    None."""
    args = (today, horizon, after_account_id, limit)
    if community_id is None:
        rows = await sql.fetch(EXPIRING_ACCOUNTS, *args)
    else:
        rows = await sql.fetch(EXPIRING_ACCOUNTS_OF_COMMUNITY, *args, community_id)
    return [
        ExpiringAccount(
            account_id=row["account_id"],
            kind=row["kind"],
            community_id=row["community_id"],
            household_id=row["household_id"],
            points=int(row["points"]),
            first_expires_on=str(row["first_expires_on"]),
        )
        for row in rows
    ]
