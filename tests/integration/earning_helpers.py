"""A small earning site for the integration tests: one compound, its points, posts and staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from ledger.services.grading import Graded, Grading
from ledger.services.registry import PointCreated
from ledger.store.tables import Dropoff, Inspection, Shift
from tests.factories import World, event_id, make_user, make_world

HANGZHOU = ZoneInfo("Asia/Shanghai")
WINDOWS = ["07:00-09:00", "18:00-20:00"]


def hangzhou(day: int, hour: int, minute: int = 0, second: int = 0, *, month: int = 11) -> datetime:
    """An instant given as a Hangzhou wall-clock time in 2026, stored as UTC."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=HANGZHOU).astimezone(UTC)


@dataclass(frozen=True)
class Site:
    world: World
    point: PointCreated  # 1号点, open 07:00-09:00 and 18:00-20:00
    point2: PointCreated  # 2号点, the same windows
    inspector: Principal
    resident: Principal
    clerk: Principal
    coordinator: Principal


async def make_site(services: Services) -> Site:
    world = await make_world(services)
    compounds = frozenset({world.compound_id})
    point = await services.registry.create_point(
        SYSTEM, event_id(), world.compound_id, "1号点", WINDOWS
    )
    point2 = await services.registry.create_point(
        SYSTEM, event_id(), world.compound_id, "2号点", WINDOWS
    )
    return Site(
        world=world,
        point=point,
        point2=point2,
        inspector=await make_user(services, Role.INSPECTOR, compound_ids=compounds),
        resident=await make_user(services, Role.RESIDENT, household_id=world.household_id),
        clerk=await make_user(services, Role.CLERK, compound_ids=compounds),
        coordinator=await make_user(services, Role.COORDINATOR, compound_ids=compounds),
    )


async def grade(
    services: Services,
    site: Site,
    stream: Stream,
    value: Grade,
    *,
    card: str | None = None,
    point_token: str | None = None,
    inspector: Principal | None = None,
    key: str | None = None,
) -> Graded:
    return await services.gradings.inspect(
        inspector or site.inspector,
        Grading(
            key or event_id("grade"),
            site.world.card_token if card is None else card,
            site.point.token if point_token is None else point_token,
            stream,
            value,
            [] if value is Grade.GOOD else ["wrong_bin"],
            None,
        ),
    )


@dataclass(frozen=True)
class Volunteer:
    id: int
    account_id: int
    member: Principal


async def make_volunteer(services: Services, site: Site, name: str = "朱秀娟") -> Volunteer:
    volunteer = await services.registry.create_volunteer(
        SYSTEM, event_id(), site.world.community_id, name
    )
    member = await make_user(services, Role.VOLUNTEER, volunteer_id=volunteer.id)
    return Volunteer(volunteer.id, volunteer.account_id, member)


async def make_post(services: Services, site: Site, name: str) -> str:
    post = await services.registry.create_post(SYSTEM, event_id(), site.world.compound_id, name)
    token: str = post.token
    return token


async def balance(services: Services, account_id: int) -> int:
    points: int = (await services.accounts.account(SYSTEM, account_id)).balance_points
    return points


async def entries(services: Services, account_id: int) -> list[dict[str, Any]]:
    """An account's entries, oldest first."""
    page = await services.accounts.entries(SYSTEM, account_id, None, 500)
    return list(reversed(msgspec.to_builtins(page.items)))


async def inspections(household_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await (
        Inspection.select().where(Inspection.household == household_id).order_by(Inspection.id)
    )
    return rows


async def dropoffs(household_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await (
        Dropoff.select().where(Dropoff.household == household_id).order_by(Dropoff.id)
    )
    return rows


async def shifts(volunteer_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await (
        Shift.select().where(Shift.volunteer == volunteer_id).order_by(Shift.id)
    )
    return rows
