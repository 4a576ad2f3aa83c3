"""The rewards catalogue: create, change, restock, retire; every change kept with who did it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ledger.domain.access import Principal
from ledger.domain.entries import check_amount
from ledger.domain.errors import InvalidInput, NotFound
from ledger.domain.registry import check_name
from ledger.domain.rewards import (
    RewardTerms,
    check_dates,
    check_weekdays,
    parse_weekdays_text,
    weekdays_text,
)
from ledger.ports import Clock
from ledger.services.runner import Runner
from ledger.store import registry as registry_store
from ledger.store import spending as store
from ledger.store.spending import RewardRow

STOCK_MAX = 10_000_000
CHANGEABLE = (
    "name",
    "cost_points",
    "monthly_limit_per_household",
    "active_from",
    "active_until",
    "exchange_weekdays",
)


@dataclass(frozen=True, slots=True)
class RewardFields:
    """A reward's terms as a create names them, or a change (only the fields given, not None)."""

    name: str | None = None
    cost_points: int | None = None
    stock: int | None = None
    monthly_limit_per_household: int | None = None
    active_from: date | None = None
    active_until: date | None = None
    exchange_weekdays: list[int] | None = None


def reward_changes(changes: Mapping[str, Any]) -> RewardFields:
    """The fields of a change named by column (piccolo-admin's form): a column that cannot be
    changed here is refused by name, as a change of it through the catalogue would be."""
    given = {key: value for key, value in changes.items() if value is not None}
    if set(given) - set(CHANGEABLE):
        raise InvalidInput(sorted(set(given) - set(CHANGEABLE))[0], "cannot be changed here")
    return RewardFields(**given)


@dataclass(frozen=True, slots=True)
class RewardView:
    """A reward as the catalogue shows it (dates as ISO text, weekdays as numbers)."""

    id: int
    community_id: int
    name: str
    cost_points: int
    stock: int
    monthly_limit_per_household: int | None
    active: bool
    active_from: str | None = None
    active_until: str | None = None
    exchange_weekdays: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RewardHistoryItem:
    change: str
    details: dict[str, Any]
    actor: str
    at: str


@dataclass(frozen=True)
class Catalog:
    clock: Clock
    runner: Runner

    async def create(
        self, actor: Principal, event_id: str, community_id: int, fields: RewardFields
    ) -> RewardView:
        """A new reward (name, cost_points, stock, limit, active dates, exchange weekdays)."""
        values = _check(fields, creating=True)

        async def action() -> RewardView:
            if not await registry_store.community_exists(community_id):
                raise NotFound("community", community_id)
            reward_id = await store.add_reward(community_id, _row(values), self.clock.now())
            await _record(reward_id, "created", values, actor, self.clock)
            return await reward_view(reward_id)

        inputs = {"community_id": community_id, **_jsonable(values)}
        return await self.runner.once("reward", event_id, actor, inputs, action, RewardView)

    async def change(
        self, actor: Principal, event_id: str, reward_id: int, fields: RewardFields
    ) -> RewardView:
        """Change terms going forward; past redemptions keep what they cost."""
        values = _check(fields, creating=False)
        if not values:
            raise InvalidInput("body", "name at least one field to change")

        async def action() -> RewardView:
            row = await _reward(reward_id)
            # A change of one date must still fit the other one already stored.
            check_dates(
                values.get("active_from", row.active_from),
                values.get("active_until", row.active_until),
            )
            await store.change_reward(reward_id, _row(values))
            await _record(reward_id, "changed", values, actor, self.clock)
            return await reward_view(reward_id)

        inputs = {"reward_id": reward_id, **_jsonable(values)}
        return await self.runner.once("reward_change", event_id, actor, inputs, action, RewardView)

    async def restock(
        self, actor: Principal, event_id: str, reward_id: int, quantity: int
    ) -> RewardView:
        if not 1 <= quantity <= STOCK_MAX:
            raise InvalidInput("quantity", f"must be between 1 and {STOCK_MAX}")

        async def action() -> RewardView:
            await _reward(reward_id)
            await store.return_stock(reward_id, quantity)
            await _record(reward_id, "restocked", {"quantity": quantity}, actor, self.clock)
            return await reward_view(reward_id)

        inputs = {"reward_id": reward_id, "quantity": quantity}
        return await self.runner.once("reward_restock", event_id, actor, inputs, action, RewardView)

    async def retire(self, actor: Principal, event_id: str, reward_id: int) -> RewardView:
        """No longer redeemable; kept with its history."""

        async def action() -> RewardView:
            await _reward(reward_id)
            await store.retire_reward(reward_id)
            await _record(reward_id, "retired", {}, actor, self.clock)
            return await reward_view(reward_id)

        return await self.runner.once(
            "reward_retire", event_id, actor, {"reward_id": reward_id}, action, RewardView
        )

    async def history(self, reward_id: int) -> list[RewardHistoryItem]:
        await _reward(reward_id)
        return [
            RewardHistoryItem(
                change=row.change,
                details=json.loads(row.details),
                actor=row.actor,
                at=row.created_at.isoformat(),
            )
            for row in await store.reward_changes(reward_id)
        ]

    async def reward(self, reward_id: int) -> RewardView:
        return await reward_view(reward_id)


def terms_of(row: RewardRow) -> RewardTerms:
    return RewardTerms(
        cost_points=row.cost_points,
        monthly_limit_per_household=row.monthly_limit_per_household,
        active=row.active,
        active_from=row.active_from,
        active_until=row.active_until,
        exchange_weekdays=parse_weekdays_text(row.exchange_weekdays),
    )


async def reward_view(reward_id: int) -> RewardView:
    row = await _reward(reward_id)
    return RewardView(
        id=row.id,
        community_id=row.community,
        name=row.name,
        cost_points=row.cost_points,
        stock=row.stock,
        monthly_limit_per_household=row.monthly_limit_per_household,
        active=row.active,
        active_from=None if row.active_from is None else row.active_from.isoformat(),
        active_until=None if row.active_until is None else row.active_until.isoformat(),
        exchange_weekdays=sorted(parse_weekdays_text(row.exchange_weekdays)),
    )


async def _reward(reward_id: int) -> RewardRow:
    row = await store.reward(reward_id)
    if row is None:
        raise NotFound("reward", reward_id)
    return row


def _check(fields: RewardFields, *, creating: bool) -> dict[str, Any]:
    """The fields given, by name, checked."""
    values = {key: value for key, value in asdict(fields).items() if value is not None}
    if "name" in values:
        values["name"] = check_name(values["name"])
    if "cost_points" in values:
        check_amount(values["cost_points"], "cost_points")
    if "stock" in values and not 0 <= values["stock"] <= STOCK_MAX:
        raise InvalidInput("stock", f"must be between 0 and {STOCK_MAX}")
    limit = values.get("monthly_limit_per_household")
    if limit is not None and limit < 1:
        raise InvalidInput("monthly_limit_per_household", "must be at least 1 when given")
    if "exchange_weekdays" in values:
        values["exchange_weekdays"] = check_weekdays(list(values["exchange_weekdays"]))
    check_dates(values.get("active_from"), values.get("active_until"))
    if creating and not {"name", "cost_points"} <= set(values):
        raise InvalidInput("name" if "name" not in values else "cost_points", "is required")
    if not creating and set(values) - set(CHANGEABLE):
        raise InvalidInput(sorted(set(values) - set(CHANGEABLE))[0], "cannot be changed here")
    return values


def _row(values: dict[str, Any]) -> dict[str, Any]:
    row = dict(values)
    if "exchange_weekdays" in row:
        row["exchange_weekdays"] = weekdays_text(row["exchange_weekdays"])
    return row


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, frozenset):
            return sorted(value)
        return value.isoformat() if isinstance(value, date) else value

    return {key: plain(value) for key, value in values.items()}


async def _record(
    reward_id: int, change: str, details: dict[str, Any], actor: Principal, clock: Clock
) -> None:
    text = json.dumps(_jsonable(details), ensure_ascii=False, sort_keys=True)
    await store.add_reward_change(reward_id, change, text, actor.username, clock.now())
