"""Per-compound figures for a period, straight from the source tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from ledger.domain.localtime import day_start
from ledger.store import sql
from ledger.store.tables import Reward

# Points that left or entered household accounts in the period, by compound and entry kind.
FLOWS = (
    "SELECT h.compound AS compound, e.kind AS kind, "
    "SUM(CASE WHEN e.credit_account_id = h.account THEN e.amount_points "
    "ELSE -e.amount_points END) AS points "
    "FROM entry e JOIN household h ON h.account IN (e.credit_account_id, e.debit_account_id) "
    "JOIN compound c ON c.id = h.compound "
    "WHERE c.community = $1 AND e.created_at >= $2 AND e.created_at < $3 "
    "GROUP BY h.compound, e.kind"
)
# Net points issued to households (from issuance, less what went back to it), by compound.
ISSUED = (
    "SELECT h.compound AS compound, SUM(CASE WHEN e.credit_account_id = h.account "
    "THEN e.amount_points ELSE -e.amount_points END) AS points "
    "FROM entry e JOIN account d ON d.id = e.debit_account_id "
    "JOIN account c ON c.id = e.credit_account_id "
    "JOIN household h ON h.account IN (e.credit_account_id, e.debit_account_id) "
    "JOIN compound k ON k.id = h.compound "
    "WHERE k.community = $1 AND e.created_at >= $2 AND e.created_at < $3 "
    "AND ((d.kind = 'issuance' AND c.kind = 'household') "
    "OR (d.kind = 'household' AND c.kind = 'issuance')) GROUP BY h.compound"
)
# What each compound's households held at a moment.
OUTSTANDING = (
    "SELECT h.compound AS compound, SUM(CASE WHEN e.credit_account_id = h.account "
    "THEN e.amount_points ELSE -e.amount_points END) AS points "
    "FROM entry e JOIN household h ON h.account IN (e.credit_account_id, e.debit_account_id) "
    "JOIN compound k ON k.id = h.compound "
    "WHERE k.community = $1 AND e.created_at < $2 GROUP BY h.compound"
)
VOLUNTEER_MINUTES = (
    "SELECT compound, SUM(minutes) AS minutes FROM shift WHERE community_id = $1 "
    "AND status = 'approved' AND local_day >= $2 AND local_day < $3 GROUP BY compound"
)
DAILY_GRADES = (
    "SELECT local_day, COUNT(*) AS graded, "
    "SUM(CASE WHEN final_grade = 'good' THEN 1 ELSE 0 END) AS good FROM inspection "
    "WHERE community_id = $1 AND local_day >= $2 AND local_day < $3 "
    "GROUP BY local_day ORDER BY local_day"
)
DAILY_PARTICIPANTS = (
    "SELECT local_day, COUNT(DISTINCT household) AS households FROM ("
    "SELECT local_day, household FROM inspection WHERE community_id = $1 "
    "AND local_day >= $2 AND local_day < $3 UNION SELECT local_day, household FROM dropoff "
    "WHERE community_id = $1 AND local_day >= $2 AND local_day < $3) taking_part "
    "GROUP BY local_day ORDER BY local_day"
)


@dataclass(frozen=True, slots=True)
class RewardStock:
    id: int
    name: str
    stock: int
    cost_points: int


async def flows(community_id: int, first: date, end: date) -> dict[int, dict[str, int]]:
    """compound → entry kind → net points into the compound's households."""
    rows = await sql.fetch(FLOWS, community_id, _utc(first), _utc(end))
    result: dict[int, dict[str, int]] = {}
    for row in rows:
        result.setdefault(int(row["compound"]), {})[row["kind"]] = int(row["points"])
    return result


async def issued(community_id: int, first: date, end: date) -> dict[int, int]:
    """Net points issued to households (from issuance, less what went back to it)."""
    rows = await sql.fetch(ISSUED, community_id, _utc(first), _utc(end))
    return {int(row["compound"]): int(row["points"]) for row in rows}


async def outstanding(community_id: int, end: date) -> dict[int, int]:
    """What the compound's households held at the end of the period."""
    rows = await sql.fetch(OUTSTANDING, community_id, _utc(end))
    return {int(row["compound"]): int(row["points"]) for row in rows}


async def volunteer_minutes(community_id: int, first: date, end: date) -> dict[int, int]:
    rows = await sql.fetch(VOLUNTEER_MINUTES, community_id, first, end)
    return {int(row["compound"]): int(row["minutes"]) for row in rows}


async def reward_stock(community_id: int) -> list[RewardStock]:
    rows = (
        await Reward.select(Reward.id, Reward.name, Reward.stock, Reward.cost_points)
        .where(Reward.community == community_id, Reward.active.eq(True))
        .order_by(Reward.id)
    )
    return [RewardStock(**row) for row in rows]


async def daily_grades(community_id: int, first: date, end: date) -> dict[str, tuple[int, int]]:
    """ISO day → (good grades, grades)."""
    rows = await sql.fetch(DAILY_GRADES, community_id, first, end)
    return {str(row["local_day"]): (int(row["good"]), int(row["graded"])) for row in rows}


async def daily_participants(community_id: int, first: date, end: date) -> dict[str, int]:
    """ISO day → households that took part (graded or dropped off)."""
    rows = await sql.fetch(DAILY_PARTICIPANTS, community_id, first, end)
    return {str(row["local_day"]): int(row["households"]) for row in rows}


def _utc(day: date) -> datetime:
    return day_start(day).astimezone(UTC)
