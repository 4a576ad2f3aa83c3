"""The rewards catalogue: create, change, restock, retire; every change kept with who did it."""

from __future__ import annotations

import json
from dataclasses import dataclass
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
from ledger.services.runner import Result, Runner
from ledger.store import registry as store
from ledger.store.tables import Community, Reward, RewardChange

STOCK_MAX = 10_000_000
CHANGEABLE = (
    "name",
    "cost_points",
    "monthly_limit_per_household",
    "active_from",
    "active_until",
    "exchange_weekdays",
)


@dataclass(frozen=True)
class Catalog:
    clock: Clock
    runner: Runner

    async def create(
        self, actor: Principal, event_id: str, community_id: int, fields: dict[str, Any]
    ) -> Result:
        """A new reward (name, cost_points, stock, limit, active dates, exchange weekdays)."""
        values = _check(fields, creating=True)

        async def action() -> Result:
            if await store.get(Community, community_id) is None:
                raise NotFound("community", community_id)
            now = self.clock.now()
            reward_id = await store.insert(
                Reward, community=community_id, active=True, created_at=now, **_row(values)
            )
            await _record(reward_id, "created", values, actor, self.clock)
            return await reward_view(reward_id)

        inputs = {"community_id": community_id, **_jsonable(values)}
        return await self.runner.once("reward", event_id, actor, inputs, action, dict)

    async def change(
        self, actor: Principal, event_id: str, reward_id: int, fields: dict[str, Any]
    ) -> Result:
        """Change terms going forward; past redemptions keep what they cost."""
        values = _check(fields, creating=False)
        if not values:
            raise InvalidInput("body", "name at least one field to change")

        async def action() -> Result:
            row = await _reward(reward_id)
            # A change of one date must still fit the other one already stored.
            check_dates(
                values.get("active_from", row["active_from"]),
                values.get("active_until", row["active_until"]),
            )
            await Reward.update(
                {Reward._meta.get_column_by_name(k): v for k, v in _row(values).items()}
            ).where(Reward.id == reward_id)
            await _record(reward_id, "changed", values, actor, self.clock)
            return await reward_view(reward_id)

        inputs = {"reward_id": reward_id, **_jsonable(values)}
        return await self.runner.once("reward_change", event_id, actor, inputs, action, dict)

    async def restock(
        self, actor: Principal, event_id: str, reward_id: int, quantity: int
    ) -> Result:
        if not 1 <= quantity <= STOCK_MAX:
            raise InvalidInput("quantity", f"must be between 1 and {STOCK_MAX}")

        async def action() -> Result:
            await _reward(reward_id)
            await Reward.raw(
                "UPDATE reward SET stock = stock + {} WHERE id = {}", quantity, reward_id
            )
            await _record(reward_id, "restocked", {"quantity": quantity}, actor, self.clock)
            return await reward_view(reward_id)

        inputs = {"reward_id": reward_id, "quantity": quantity}
        return await self.runner.once("reward_restock", event_id, actor, inputs, action, dict)

    async def retire(self, actor: Principal, event_id: str, reward_id: int) -> Result:
        """No longer redeemable; kept with its history."""

        async def action() -> Result:
            await _reward(reward_id)
            await Reward.update({Reward.active: False}).where(Reward.id == reward_id)
            await _record(reward_id, "retired", {}, actor, self.clock)
            return await reward_view(reward_id)

        return await self.runner.once(
            "reward_retire", event_id, actor, {"reward_id": reward_id}, action, dict
        )

    async def history(self, reward_id: int) -> list[dict[str, Any]]:
        await _reward(reward_id)
        rows = (
            await RewardChange.select()
            .where(RewardChange.reward == reward_id)
            .order_by(RewardChange.id)
        )
        return [
            {
                "change": row["change"],
                "details": json.loads(row["details"]),
                "actor": row["actor"],
                "at": row["created_at"].isoformat(),
            }
            for row in rows
        ]


def terms_of(row: dict[str, Any]) -> RewardTerms:
    return RewardTerms(
        cost_points=row["cost_points"],
        monthly_limit_per_household=row["monthly_limit_per_household"],
        active=row["active"],
        active_from=row["active_from"],
        active_until=row["active_until"],
        exchange_weekdays=parse_weekdays_text(row["exchange_weekdays"]),
    )


async def reward_view(reward_id: int) -> Result:
    row = await _reward(reward_id)
    return {
        "id": row["id"],
        "community_id": row["community"],
        "name": row["name"],
        "cost_points": row["cost_points"],
        "stock": row["stock"],
        "monthly_limit_per_household": row["monthly_limit_per_household"],
        "active": row["active"],
        "active_from": row["active_from"] and row["active_from"].isoformat(),
        "active_until": row["active_until"] and row["active_until"].isoformat(),
        "exchange_weekdays": sorted(parse_weekdays_text(row["exchange_weekdays"])),
    }


async def _reward(reward_id: int) -> dict[str, Any]:
    row = await store.get(Reward, reward_id)
    if row is None:
        raise NotFound("reward", reward_id)
    return row


def _check(fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    values = {key: value for key, value in fields.items() if value is not None}
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
    await store.insert(
        RewardChange,
        reward=reward_id,
        change=change,
        details=json.dumps(_jsonable(details), ensure_ascii=False, sort_keys=True),
        actor=actor.username,
        created_at=clock.now(),
    )
