"""The books' reads and writes: entry sums by kind for a period, balances folded from the
entries at a moment, redemptions with the unit cost in force when they were made, reward costs
and reorder thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.books import KindSum
from ledger.store import registry, sql
from ledger.store.tables import RewardCost

# Net points into holders' and merchants' accounts by entry kind (a reversal: by the kind it
# reverses), for one community's entries made in [$2, $3).
KIND_SUMS = (
    "SELECT e.kind AS kind, r.kind AS reversed_kind, "
    "SUM(CASE WHEN c.kind IN ('household', 'volunteer') THEN e.amount_points ELSE 0 END) "
    "- SUM(CASE WHEN d.kind IN ('household', 'volunteer') THEN e.amount_points ELSE 0 END) "
    "AS holders, "
    "SUM(CASE WHEN c.kind = 'merchant' THEN e.amount_points ELSE 0 END) "
    "- SUM(CASE WHEN d.kind = 'merchant' THEN e.amount_points ELSE 0 END) AS merchants "
    "FROM entry e JOIN account d ON d.id = e.debit_account_id "
    "JOIN account c ON c.id = e.credit_account_id "
    "LEFT JOIN entry r ON r.id = e.reverses_entry_id "
    "WHERE e.community_id = $1 AND e.created_at >= $2 AND e.created_at < $3 "
    "GROUP BY e.kind, r.kind"
)
# What accounts of some kinds held at a moment, folded from the entries (not the stored
# balances, which hold only the present).
HELD_AT = (
    "SELECT a.kind AS kind, SUM(CASE WHEN e.credit_account_id = a.id THEN e.amount_points "
    "ELSE -e.amount_points END) AS points "
    "FROM entry e JOIN account a ON a.id IN (e.credit_account_id, e.debit_account_id) "
    "WHERE e.community_id = $1 AND e.created_at < $2 "
    "AND a.kind IN ('household', 'volunteer', 'merchant') GROUP BY a.kind"
)
# Each merchant's unsettled points at a moment, folded from the entries.
MERCHANTS_AT = (
    "SELECT m.id AS id, m.name AS name, COALESCE(SUM(CASE WHEN e.credit_account_id = m.account "
    "THEN e.amount_points ELSE -e.amount_points END), 0) AS points "
    "FROM merchant m LEFT JOIN entry e ON m.account IN (e.credit_account_id, e.debit_account_id) "
    "AND e.created_at < $2 WHERE m.community = $1 GROUP BY m.id, m.name ORDER BY m.id"
)
# The stored balances of a community's holders and merchants (what `verify` compares with).
STORED = (
    "SELECT kind, SUM(balance_points) AS points FROM account WHERE community = $1 "
    "AND kind IN ('household', 'volunteer', 'merchant') GROUP BY kind"
)
# Redemptions made in [$2, $3), each with the unit cost in force then: the latest
# effective_from on or before it; of two rows from the same moment, the later one set.
REDEEMED = (
    "SELECT r.quantity AS quantity, r.points AS points, "
    "(SELECT c.cost_fen FROM reward_cost c WHERE c.reward = r.reward "
    "AND c.effective_from <= r.created_at ORDER BY c.effective_from DESC, c.id DESC LIMIT 1) "
    "AS cost_fen "
    "FROM redemption r WHERE r.community_id = $1 AND r.created_at >= $2 AND r.created_at < $3"
)
# Redemptions refunded in [$2, $3) (whenever made), each with its unit cost when it was made.
REFUNDED = (
    "SELECT r.quantity AS quantity, r.points AS points, "
    "(SELECT c.cost_fen FROM reward_cost c WHERE c.reward = r.reward "
    "AND c.effective_from <= r.created_at ORDER BY c.effective_from DESC, c.id DESC LIMIT 1) "
    "AS cost_fen "
    "FROM redemption r JOIN entry x ON x.id = r.refund_entry_id "
    "WHERE r.community_id = $1 AND x.created_at >= $2 AND x.created_at < $3"
)
# The redemption table's own points (made, less refunded), for `verify`.
REDEMPTION_POINTS = (
    "SELECT COALESCE(SUM(CASE WHEN refund_entry_id IS NULL THEN points ELSE 0 END), 0) AS points "
    "FROM redemption WHERE community_id = $1"
)
STOCK = (
    "SELECT r.id AS id, r.name AS name, r.stock AS stock, r.cost_points AS cost_points, "
    "o.threshold AS threshold, "
    "(SELECT c.cost_fen FROM reward_cost c WHERE c.reward = r.id AND c.effective_from <= $2 "
    "ORDER BY c.effective_from DESC, c.id DESC LIMIT 1) AS cost_fen "
    "FROM reward r LEFT JOIN reward_reorder o ON o.reward = r.id "
    "WHERE r.community = $1 AND r.active = $3 ORDER BY r.id"
)
SET_THRESHOLD = (
    "INSERT INTO reward_reorder (reward, threshold, set_by, set_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (reward) DO UPDATE SET threshold = excluded.threshold, "
    "set_by = excluded.set_by, set_at = excluded.set_at"
)
THRESHOLD = "SELECT threshold FROM reward_reorder WHERE reward = $1"
COMMUNITIES = "SELECT id FROM community ORDER BY id"


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A redemption's units and points, with the unit cost in force when it was made (None:
    no cost had been set then)."""

    quantity: int
    points: int
    cost_fen: int | None


@dataclass(frozen=True, slots=True)
class MerchantHeld:
    id: int
    name: str
    points: int


@dataclass(frozen=True, slots=True)
class StockRow:
    id: int
    name: str
    stock: int
    cost_points: int
    threshold: int | None
    cost_fen: int | None


@dataclass(frozen=True, slots=True)
class CostRow:
    id: int
    reward: int
    cost_fen: int
    effective_from: datetime
    set_by: str
    set_at: datetime


async def kind_sums(community_id: int, start: datetime, end: datetime) -> list[KindSum]:
    rows = await sql.fetch(KIND_SUMS, community_id, start, end)
    return [
        KindSum(
            kind=str(row["kind"]),
            reversed_kind=None if row["reversed_kind"] is None else str(row["reversed_kind"]),
            holders=int(row["holders"]),
            merchants=int(row["merchants"]),
        )
        for row in rows
    ]


async def held_at(community_id: int, moment: datetime) -> dict[str, int]:
    """Account kind (household, volunteer, merchant) → points held at `moment`."""
    rows = await sql.fetch(HELD_AT, community_id, moment)
    return {str(row["kind"]): int(row["points"]) for row in rows}


async def stored_balances(community_id: int) -> dict[str, int]:
    """Account kind → the sum of the stored balances now."""
    rows = await sql.fetch(STORED, community_id)
    return {str(row["kind"]): int(row["points"]) for row in rows}


async def merchants_at(community_id: int, moment: datetime) -> list[MerchantHeld]:
    rows = await sql.fetch(MERCHANTS_AT, community_id, moment)
    return [MerchantHeld(int(r["id"]), str(r["name"]), int(r["points"])) for r in rows]


async def redeemed(community_id: int, start: datetime, end: datetime) -> list[Redeemed]:
    return _redeemed(await sql.fetch(REDEEMED, community_id, start, end))


async def refunded(community_id: int, start: datetime, end: datetime) -> list[Redeemed]:
    return _redeemed(await sql.fetch(REFUNDED, community_id, start, end))


async def redemption_points(community_id: int) -> int:
    row = await sql.fetch_one(REDEMPTION_POINTS, community_id)
    return 0 if row is None else int(row["points"])


async def stock(community_id: int, now: datetime) -> list[StockRow]:
    """The community's active rewards: stock, threshold and the unit cost in force now."""
    rows = await sql.fetch(STOCK, community_id, now, True)
    return [
        StockRow(
            id=int(r["id"]),
            name=str(r["name"]),
            stock=int(r["stock"]),
            cost_points=int(r["cost_points"]),
            threshold=None if r["threshold"] is None else int(r["threshold"]),
            cost_fen=None if r["cost_fen"] is None else int(r["cost_fen"]),
        )
        for r in rows
    ]


async def add_cost(
    reward_id: int, cost_fen: int, effective_from: datetime, set_by: str, now: datetime
) -> int:
    return await registry.insert(
        RewardCost,
        reward=reward_id,
        cost_fen=cost_fen,
        effective_from=effective_from,
        set_by=set_by,
        set_at=now,
    )


async def costs(reward_id: int) -> list[CostRow]:
    """A reward's cost history, oldest setting first."""
    rows = await RewardCost.select().where(RewardCost.reward == reward_id).order_by(RewardCost.id)
    return [CostRow(**row) for row in rows]


async def set_threshold(reward_id: int, threshold: int, set_by: str, now: datetime) -> None:
    await sql.fetch(SET_THRESHOLD, reward_id, threshold, set_by, now)


async def threshold(reward_id: int) -> int | None:
    row = await sql.fetch_one(THRESHOLD, reward_id)
    return None if row is None else int(row["threshold"])


async def community_ids() -> list[int]:
    return [int(row["id"]) for row in await sql.fetch(COMMUNITIES)]


def _redeemed(rows: object) -> list[Redeemed]:
    return [
        Redeemed(
            int(r["quantity"]),
            int(r["points"]),
            None if r["cost_fen"] is None else int(r["cost_fen"]),
        )
        for r in rows  # type: ignore[attr-defined]
    ]
