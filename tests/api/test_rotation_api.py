"""The inspectors' rotation plan over HTTP (issue 19, 2(a)): coordinators assign inspectors to
compounds by ISO week; a change revokes the inspector's tokens and the new token's scope is the
plan's; more than N weeks running is refused naming the inspector, the compound and the weeks.

The app's clock is frozen on Tuesday 24 November 2026, 20:00 local: ISO week 2026-W48.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
from ledger.domain.rotation import week_label
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    Headers,
    World,
    assert_error,
    created,
    make_world,
    new_event_id,
    sign_in,
)
from tests.factories import FrozenClock
from tests.integration.earning_helpers import hangzhou

Client = AsyncTestClient[Any]
THIS_MONDAY = date(2026, 11, 23)
W48 = week_label(THIS_MONDAY)


@dataclass(frozen=True)
class Compound:
    id: int
    card: str
    point: str
    point_id: int = 0


@dataclass(frozen=True)
class Plan:
    client: Client
    admin: Headers
    world: World
    a: Compound
    b: Compound
    elsewhere: Compound  # another community's
    inspector_id: int
    inspector_name: str
    coordinator: Headers

    async def inspector(self) -> Headers:
        return await sign_in(self.client, self.inspector_name, USER_PASSWORD)

    async def grade(self, who: Headers, compound: Compound) -> Any:
        body = {
            "event_id": new_event_id(),
            "household_token": compound.card,
            "point_token": compound.point,
            "stream": "kitchen",
            "grade": "good",
        }
        return await self.client.post("/api/v1/inspections", json=body, headers=who)

    def path(self, week: str, compound: Compound, inspector_id: int | None = None) -> str:
        inspector = inspector_id or self.inspector_id
        return f"/api/v1/rotation/{week}/inspectors/{inspector}/compounds/{compound.id}"

    async def assign(self, week: str, compound: Compound, **kw: Any) -> Any:
        return await self.client.put(self.path(week, compound, **kw), headers=self.coordinator)


async def _compound(client: Client, admin: Headers, compound_id: int) -> Compound:
    household = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": compound_id, "building": "1", "unit": "1", "room": "101"},
    )
    point = await created(
        client, admin, "/api/v1/points", {"compound_id": compound_id, "name": "P"}
    )
    return Compound(compound_id, household["card_token"], point["token"], point["id"])


async def _user(
    client: Client, admin: Headers, role: Role, compounds: list[int]
) -> tuple[int, str]:
    name = f"{role.value}-{new_event_id()}"
    body = {"username": name, "password": USER_PASSWORD, "role": role.value}
    reply = await created(client, admin, "/api/v1/users", body | {"compound_ids": compounds})
    return int(reply["id"]), name


@pytest.fixture
async def plan(admin_user: None, settings: Settings) -> AsyncIterator[Plan]:
    clock = FrozenClock(hangzhou(24, 20))
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        world = await make_world(client, admin)
        a = Compound(world.compound_id, world.card_token, "")
        a = await _compound(client, admin, a.id)
        body = {"community_id": world.community_id, "name": "南苑"}
        b = await _compound(
            client, admin, (await created(client, admin, "/api/v1/compounds", body))["id"]
        )
        other = await created(client, admin, "/api/v1/communities", {"name": "别的社区"})
        body = {"community_id": other["id"], "name": "北苑"}
        far = await _compound(
            client, admin, (await created(client, admin, "/api/v1/compounds", body))["id"]
        )
        inspector_id, inspector_name = await _user(client, admin, Role.INSPECTOR, [a.id])
        _, coordinator_name = await _user(client, admin, Role.COORDINATOR, [a.id, b.id])
        coordinator = await sign_in(client, coordinator_name, USER_PASSWORD)
        yield Plan(client, admin, world, a, b, far, inspector_id, inspector_name, coordinator)


async def test_reassignment_revokes_the_token_and_moves_the_scope(plan: Plan) -> None:
    """An inspector graded compound A; re-assigned to B for this week, a grading of A is
    refused (403 `not_assigned`) and one of B accepted; removed again, A is theirs again."""
    before = await plan.inspector()
    assert (await plan.grade(before, plan.a)).status_code == 201
    assert_error(await plan.grade(before, plan.b), 403, "out_of_scope")  # not theirs yet

    assigned = await plan.assign(W48, plan.b)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json() == {
        "inspector_id": plan.inspector_id,
        "compound_id": plan.b.id,
        "week": W48,
        "assigned": True,
        "changed": True,
    }
    assert (await plan.grade(before, plan.b)).status_code == 401  # the old token is revoked

    after = await plan.inspector()
    refused = assert_error(await plan.grade(after, plan.a), 403, "not_assigned")
    assert refused["week"] == W48
    assert refused["assigned"] == [plan.b.id]
    assert (await plan.grade(after, plan.b)).status_code == 201

    today = await plan.client.get("/api/v1/inspectors/me/assignment", headers=after)
    assert today.status_code == 200, today.text
    assert today.json() == {
        "day": "2026-11-24",
        "week": W48,
        "planned": True,
        "compounds": [{"id": plan.b.id, "name": "南苑"}],
    }

    again = await plan.assign(W48, plan.b)  # idempotent: nothing changes, nothing revoked
    assert again.json()["changed"] is False
    assert (await plan.grade(after, plan.b)).status_code == 201

    removed = await plan.client.delete(plan.path(W48, plan.b), headers=plan.coordinator)
    assert removed.status_code == 200, removed.text
    assert (removed.json()["assigned"], removed.json()["changed"]) == (False, True)
    assert (await plan.grade(after, plan.b)).status_code == 401
    standing = await plan.inspector()
    assert (await plan.grade(standing, plan.a)).status_code == 201
    assert_error(await plan.grade(standing, plan.b), 403, "out_of_scope")
    mine = await plan.client.get("/api/v1/inspectors/me/assignment", headers=standing)
    assert mine.json()["planned"] is False
    assert [c["id"] for c in mine.json()["compounds"]] == [plan.a.id]


async def test_a_compound_is_reached_in_its_week_not_before(plan: Plan) -> None:
    """The token carries next week's plan too (a token made on Sunday night lives into
    Monday), but an inspector may not read a compound's drop-off queue before its week."""
    queue = f"/api/v1/points/{plan.b.point_id}/queue"
    assert (await plan.assign(week_label(THIS_MONDAY + timedelta(days=7)), plan.b)).is_success
    early = await plan.inspector()
    assert_error(await plan.client.get(queue, headers=early), 403, "out_of_scope")

    assert (await plan.assign(W48, plan.b)).is_success
    this_week = await plan.inspector()
    reply = await plan.client.get(queue, headers=this_week)
    assert reply.status_code == 200, reply.text
    assert reply.json()["items"] == []


async def test_more_than_four_weeks_running_is_refused_naming_who_where_and_when(
    plan: Plan,
) -> None:
    weeks = [week_label(THIS_MONDAY + timedelta(weeks=n)) for n in range(6)]
    for week in weeks[:4]:
        assert (await plan.assign(week, plan.a)).status_code == 200
    refused = assert_error(await plan.assign(weeks[4], plan.a), 409, "rotation_exceeded")
    assert refused["inspector"] == plan.inspector_name
    assert refused["compound"] == "信义坊"
    assert refused["weeks"] == weeks[:5]
    assert plan.inspector_name in refused["detail"]
    assert weeks[0] in refused["detail"]
    assert (await plan.assign(weeks[4], plan.b)).status_code == 200  # another compound is fine
    assert (await plan.assign(weeks[5], plan.a)).status_code == 200  # after a week's break

    listed = await plan.client.get(
        f"/api/v1/communities/{plan.world.community_id}/rotation?from=2026-11-23&weeks=6",
        headers=plan.coordinator,
    )
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["weeks"] == weeks
    assert body["weeks_max"] == 4
    assert [i["id"] for i in body["inspectors"]] == [plan.inspector_id]
    assert [(i["week"], i["compound_id"]) for i in body["items"]] == [
        *((w, plan.a.id) for w in weeks[:4]),
        (weeks[4], plan.b.id),
        (weeks[5], plan.a.id),
    ]


async def test_bad_assignments_are_refused_and_change_nothing(plan: Plan) -> None:
    clerk_id, _ = await _user(plan.client, plan.admin, Role.CLERK, [plan.a.id])
    assert_error(await plan.assign(W48, plan.a, inspector_id=999_999), 404, "not_found")
    assert_error(await plan.assign(W48, plan.a, inspector_id=clerk_id), 404, "not_found")
    missing = Compound(999_999, "", "")
    assert_error(await plan.assign(W48, missing), 404, "not_found")
    assert_error(await plan.assign(W48, plan.elsewhere), 403, "out_of_scope")
    past = assert_error(await plan.assign("2026-W47", plan.a), 400, "validation_error")
    assert "past" in past["detail"]
    assert_error(await plan.assign("2026-48", plan.a), 400, "validation_error")
    assert_error(await plan.assign("2026-W60", plan.a), 400, "validation_error")
    inspector = await plan.inspector()
    denied = await plan.client.put(plan.path(W48, plan.a), headers=inspector)
    assert denied.status_code == 403
    assert_error(
        await plan.client.get(
            f"/api/v1/communities/{plan.world.community_id + 1}/rotation", headers=plan.coordinator
        ),
        403,
        "out_of_scope",
    )
    listed = await plan.client.get(
        f"/api/v1/communities/{plan.world.community_id}/rotation", headers=plan.coordinator
    )
    assert listed.json()["items"] == []
    assert (await plan.grade(inspector, plan.a)).status_code == 201  # never revoked
