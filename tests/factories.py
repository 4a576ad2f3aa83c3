"""Plain helper functions with keyword defaults: a small world to test in."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher

from ledger.domain.access import SYSTEM, Principal, Role
from ledger.services.container import Services
from ledger.services.registry import HouseholdCreated, HouseholdRequest

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
_events = itertools.count(1)


def event_id(prefix: str = "evt") -> str:
    return f"{prefix}-{next(_events)}"


class FrozenClock:
    """A clock the test moves by hand; starts at 2026-11-25 10:00 Asia/Shanghai."""

    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment or datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass(frozen=True)
class World:
    community_id: int
    compound_id: int
    household_id: int
    account_id: int
    card_token: str


async def make_world(
    services: Services, *, community: str = "卖鱼桥社区", compound: str = "信义坊"
) -> World:
    """One community, one compound, one household."""
    community_id = (await services.registry.create_community(SYSTEM, event_id(), community)).id
    compound_id = (
        await services.registry.create_compound(SYSTEM, event_id(), community_id, compound)
    ).id
    household = await make_household(services, compound_id)
    return World(
        community_id, compound_id, household.id, household.account_id, household.card_token
    )


async def make_household(
    services: Services,
    compound_id: int,
    *,
    building: str = "3",
    unit: str = "2",
    room: str | None = None,
) -> HouseholdCreated:
    room = room or str(100 + next(_events))
    request = HouseholdRequest(compound_id, building, unit, room)
    return await services.registry.create_household(SYSTEM, event_id(), request)


async def credit(
    services: Services, account_id: int, amount_points: int, *, key: str | None = None
) -> dict[str, Any]:
    """The adjustment's result as a dict (entry_id, balance_points)."""
    adjusted = await services.accounts.adjust(
        SYSTEM, key or event_id("credit"), account_id, amount_points, "test credit"
    )
    return asdict(adjusted)


_PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("password-123")


async def make_user(
    services: Services,
    role: Role,
    *,
    household_id: int | None = None,
    volunteer_id: int | None = None,
    compound_ids: frozenset[int] = frozenset(),
) -> Principal:
    """A real user row (entries and records point at it), signed in as a Principal.

    The password is `password-123`, hashed with cheap argon2 parameters to keep tests fast.
    """
    async with services.db.write():
        created = await services.users.add(
            f"{role.value}-{next(_events)}",
            _PASSWORD_HASH,
            role,
            household_id=household_id,
            volunteer_id=volunteer_id,
            compound_ids=compound_ids,
        )
    return await services.users.principal(created.id)


def principal(role: Role = Role.ADMIN, **fields: Any) -> Principal:
    values: dict[str, Any] = {"user_id": 99, "username": f"test-{role.value}", "role": role}
    return Principal(**(values | fields))


__all__ = [
    "SYSTEM",
    "FrozenClock",
    "World",
    "credit",
    "event_id",
    "make_household",
    "make_user",
    "make_world",
    "principal",
]
