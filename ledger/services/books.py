"""The books (issue 19 part 1): what the scheme owes, per community and local month.

Rewards' unit costs (in fen, with their history) and reorder thresholds are set here; the
liability report sorts the ledger's entries by `ledger/domain/books.py`, and `verify` proves
its totals against the stored balances (`books_check`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from ledger.domain import books as rules
from ledger.domain.access import Principal
from ledger.domain.errors import NotFound
from ledger.domain.localtime import day_start
from ledger.ports import Clock
from ledger.services.catalog import reward_view
from ledger.services.reports import check_period
from ledger.services.runner import Runner
from ledger.store import books as store
from ledger.store import spending as spending_store
from ledger.store.replica import on_replica

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RewardCostView:
    """One setting of a reward's unit cost: from when it applies, who set it and when."""

    id: int
    reward_id: int
    cost_fen: int
    cost_yuan: str
    effective_from: str
    set_by: str
    set_at: str


@dataclass(frozen=True, slots=True)
class ReorderThreshold:
    reward_id: int
    threshold: int
    stock: int
    reorder: bool


@dataclass(frozen=True, slots=True)
class LiabilityMonth:
    """One local month (clipped to the period): points by source and use, what holders and
    merchants are owed at its end, and the yuan figures."""

    month: str  # YYYY-MM
    first_day: str
    last_day: str
    issued_gradings: int
    issued_weighins: int
    issued_dropoffs: int
    issued_hours: int
    issued_adjustments: int
    issued_total: int
    redeemed: int
    paid_to_merchants: int
    expired: int
    settled: int
    outstanding: int  # households' and volunteers' points at the month's end
    merchants_unsettled: int  # merchants' points at the month's end, not yet settled
    redeemed_units: int
    redeemed_value_fen: int
    redeemed_value_yuan: str
    unpriced_units: int  # units redeemed with no cost set then: not in the value
    yuan_per_point: str | None  # the month's value ÷ its priced redeemed points
    outstanding_estimate_fen: int | None
    outstanding_estimate_yuan: str | None


@dataclass(frozen=True, slots=True)
class MerchantBalance:
    merchant_id: int
    merchant: str
    unsettled_points: int


@dataclass(frozen=True, slots=True)
class StockLine:
    reward_id: int
    reward: str
    stock: int
    cost_points: int
    cost_fen: int | None
    cost_yuan: str | None
    reorder_threshold: int | None
    reorder: bool


@dataclass(frozen=True, slots=True)
class LiabilityReport:
    community_id: int
    community: str
    first_day: date
    last_day: date
    estimate_method: str
    months: list[LiabilityMonth]
    merchants: list[MerchantBalance]
    reward_stock: list[StockLine]


ESTIMATE_METHOD = (
    "outstanding points × the month's yuan per redeemed point (its redeemed value ÷ the points "
    "of its redemptions that had a cost); a month without priced redemptions uses the whole "
    "period's rate; none at all: no estimate"
)


@dataclass(frozen=True)
class Books:
    clock: Clock
    runner: Runner

    async def set_cost(
        self,
        actor: Principal,
        event_id: str,
        community_id: int,
        reward_id: int,
        cost_fen: int,
        effective_from: date | None = None,
    ) -> RewardCostView:
        """A new unit cost from `effective_from` (a local day; default: now). Added to the
        history, never replacing a row: the cost a redemption is valued at is the one in force
        when it was made, the latest setting winning between settings for the same moment."""
        rules.check_cost_fen(cost_fen)

        async def action() -> RewardCostView:
            await _reward_of(community_id, reward_id)
            now = self.clock.now()
            start = now if effective_from is None else day_start(effective_from).astimezone(UTC)
            cost_id = await store.add_cost(reward_id, cost_fen, start, actor.username, now)
            return _cost_view(
                store.CostRow(cost_id, reward_id, cost_fen, start, actor.username, now)
            )

        inputs = {
            "community_id": community_id,
            "reward_id": reward_id,
            "cost_fen": cost_fen,
            "effective_from": None if effective_from is None else effective_from.isoformat(),
        }
        return await self.runner.once(
            "reward_cost", event_id, actor, inputs, action, RewardCostView
        )

    async def set_threshold(
        self, actor: Principal, event_id: str, community_id: int, reward_id: int, threshold: int
    ) -> ReorderThreshold:
        """Stock at or below `threshold` raises a reorder alert on the books."""
        rules.check_threshold(threshold)

        async def action() -> ReorderThreshold:
            await _reward_of(community_id, reward_id)
            await store.set_threshold(reward_id, threshold, actor.username, self.clock.now())
            await spending_store.add_reward_change(
                reward_id,
                "threshold",
                f'{{"threshold": {threshold}}}',
                actor.username,
                self.clock.now(),
            )
            stock = (await reward_view(reward_id)).stock
            return ReorderThreshold(
                reward_id, threshold, stock, rules.reorder_due(stock, threshold)
            )

        inputs = {"community_id": community_id, "reward_id": reward_id, "threshold": threshold}
        return await self.runner.once(
            "reward_threshold", event_id, actor, inputs, action, ReorderThreshold
        )

    async def costs(self, reward_id: int) -> list[RewardCostView]:
        await reward_view(reward_id)  # 404 for an unknown reward
        return [_cost_view(row) for row in await store.costs(reward_id)]


@on_replica
async def liability_report(
    community_id: int, first: date, last: date, now: datetime
) -> LiabilityReport:
    """Per local month of first..last (both included): the liability and how it moved."""
    name = await check_period(community_id, first, last)
    spans = rules.months(first, last)
    raw = [await _month(community_id, start, end) for start, end in spans]
    value = sum(month.value_fen for month in raw)
    period_rate = rules.fen_per_point(value, sum(month.priced_points for month in raw))
    end = _utc(spans[-1][1])
    merchants = [
        MerchantBalance(m.id, m.name, m.points) for m in await store.merchants_at(community_id, end)
    ]
    return LiabilityReport(
        community_id=community_id,
        community=name,
        first_day=first,
        last_day=last,
        estimate_method=ESTIMATE_METHOD,
        months=[month.row(period_rate) for month in raw],
        merchants=merchants,
        reward_stock=[_stock_line(row) for row in await store.stock(community_id, now)],
    )


@dataclass(frozen=True, slots=True)
class _Month:
    start: date
    end: date
    flows: rules.Flows
    held: dict[str, int]
    units: int
    value_fen: int
    priced_points: int
    unpriced_units: int

    def row(self, period_rate: Fraction | None) -> LiabilityMonth:
        outstanding = self.held.get("household", 0) + self.held.get("volunteer", 0)
        rate = rules.fen_per_point(self.value_fen, self.priced_points) or period_rate
        estimate = rules.estimate_fen(outstanding, rate)
        issued = self.flows.issued
        return LiabilityMonth(
            month=self.start.strftime("%Y-%m"),
            first_day=self.start.isoformat(),
            last_day=(self.end - timedelta(days=1)).isoformat(),
            issued_gradings=issued["gradings"],
            issued_weighins=issued["weighins"],
            issued_dropoffs=issued["dropoffs"],
            issued_hours=issued["hours"],
            issued_adjustments=issued["adjustments"],
            issued_total=self.flows.issued_total,
            redeemed=self.flows.redeemed,
            paid_to_merchants=self.flows.paid,
            expired=self.flows.expired,
            settled=self.flows.settled,
            outstanding=outstanding,
            merchants_unsettled=self.held.get("merchant", 0),
            redeemed_units=self.units,
            redeemed_value_fen=self.value_fen,
            redeemed_value_yuan=rules.yuan_text(self.value_fen) or "0.00",
            unpriced_units=self.unpriced_units,
            yuan_per_point=None if rate is None else f"{float(rate) / 100:.4f}",
            outstanding_estimate_fen=estimate,
            outstanding_estimate_yuan=rules.yuan_text(estimate),
        )


async def _month(community_id: int, first: date, end: date) -> _Month:
    start, stop = _utc(first), _utc(end)
    flows = rules.sort_flows(await store.kind_sums(community_id, start, stop))
    held = await store.held_at(community_id, stop)
    made = await store.redeemed(community_id, start, stop)
    undone = await store.refunded(community_id, start, stop)
    units = value = priced = unpriced = 0
    for sign, rows in ((1, made), (-1, undone)):
        for row in rows:
            units += sign * row.quantity
            if row.cost_fen is None:
                unpriced += sign * row.quantity
            else:
                value += sign * row.quantity * row.cost_fen
                priced += sign * row.points
    return _Month(first, end, flows, held, units, value, priced, unpriced)


@dataclass(frozen=True, slots=True)
class BooksMismatch:
    community_id: int
    detail: str


async def first_books_mismatch() -> BooksMismatch | None:
    """The first community whose books, summed over all time, disagree with the ledger:
    issued − redeemed − paid − expired must equal what households and volunteers hold (their
    stored balances); paid − settled what merchants hold; redeemed points the redemption rows'
    own (made, less refunded), on which the yuan value rests; and every entry kind that moves
    a holder's or a merchant's points must be one the books sort."""
    far = datetime(2999, 12, 31, tzinfo=UTC)
    for community_id in await store.community_ids():
        flows = rules.sort_flows(await store.kind_sums(community_id, EPOCH, far))
        stored = await store.stored_balances(community_id)
        problem = _mismatch(flows, stored, await store.redemption_points(community_id))
        if problem is not None:
            return BooksMismatch(community_id, problem)
    return None


def _mismatch(flows: rules.Flows, stored: dict[str, int], redemption_points: int) -> str | None:
    held = stored.get("household", 0) + stored.get("volunteer", 0)
    if flows.unsorted:
        return f"{flows.unsorted} points moved by entries of a kind the books do not sort"
    if flows.held_change != held:
        return (
            f"issued {flows.issued_total} − redeemed {flows.redeemed} − paid {flows.paid} "
            f"− expired {flows.expired} = {flows.held_change}, "
            f"but households and volunteers hold {held}"
        )
    if flows.merchants_change != stored.get("merchant", 0):
        return (
            f"paid {flows.paid} − settled {flows.settled} = {flows.merchants_change}, "
            f"but merchants hold {stored.get('merchant', 0)}"
        )
    if flows.redeemed != redemption_points:
        return f"entries redeemed {flows.redeemed} points, the redemptions say {redemption_points}"
    return None


async def _reward_of(community_id: int, reward_id: int) -> None:
    """404 for an unknown reward, or one of another community (as a redemption would)."""
    row = await spending_store.reward(reward_id)
    if row is None or row.community != community_id:
        raise NotFound("reward", reward_id)


def _cost_view(row: store.CostRow) -> RewardCostView:
    return RewardCostView(
        id=row.id,
        reward_id=row.reward,
        cost_fen=row.cost_fen,
        cost_yuan=rules.yuan_text(row.cost_fen) or "0.00",
        effective_from=row.effective_from.astimezone(UTC).isoformat(),
        set_by=row.set_by,
        set_at=row.set_at.astimezone(UTC).isoformat(),
    )


def _stock_line(row: store.StockRow) -> StockLine:
    return StockLine(
        reward_id=row.id,
        reward=row.name,
        stock=row.stock,
        cost_points=row.cost_points,
        cost_fen=row.cost_fen,
        cost_yuan=rules.yuan_text(row.cost_fen),
        reorder_threshold=row.threshold,
        reorder=rules.reorder_due(row.stock, row.threshold),
    )


def _utc(day: date) -> datetime:
    return day_start(day).astimezone(UTC)
