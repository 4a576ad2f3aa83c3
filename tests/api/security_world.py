"""A world for the access, fuzzing and privacy tests: two communities, three compounds, one
household per place a caller can reach, and one signed-in user per role, all made over HTTP.

    community 1 ─ compound 1 (the staff's compound) ─ household "own" (the resident's)
                │                                  └ household "other_household"
                └ compound 2                       ─ household "other_compound"
    community 2 ─ compound 3                       ─ household "other_community"

The coordinator, inspector and clerk serve compound 1 only; the volunteer is volunteer 1 of
community 1; the resident lives in the "own" household. Helper users (an inspector and a clerk
of every compound, a resident of each household, a volunteer per community) make the things
that the callers then act on.

The app's clock is frozen (2026-11-24 10:00 in Hangzhou) and moved by hand; tokens use real time.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar.testing import AsyncTestClient

from ledger.domain.access import Role
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    Headers,
    created,
    new_event_id,
    sign_in,
)
from tests.factories import FrozenClock
from tests.integration.earning_helpers import hangzhou

Client = AsyncTestClient[Any]
SCOPES = ("own", "other_household", "other_compound", "other_community")
ROLES = tuple(Role)
STARTING_POINTS = 10_000
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Site:
    """One household and the codes of its compound: what a caller acts on in one scope."""

    community_id: int
    compound_id: int
    household_id: int
    account_id: int
    card_token: str
    point_token: str
    post_token: str
    merchant_id: int
    reward_id: int
    resident: Headers  # a member of this household


@dataclass(frozen=True)
class VolunteerSite:
    volunteer_id: int
    account_id: int
    member: Headers


@dataclass
class Estate:
    client: Client
    clock: FrozenClock
    admin: Headers
    callers: dict[Role, Headers]
    usernames: dict[Role, str]
    sites: dict[str, Site]
    volunteers: dict[str, VolunteerSite]  # own, other_household, other_compound, other_community
    inspector_everywhere: Headers
    clerk_everywhere: Headers
    community_volunteer: dict[int, VolunteerSite]  # a helper volunteer per community id
    shifts_made: int = field(default=0)

    def caller(self, role: Role | None) -> Headers:
        return {} if role is None else self.callers[role]

    async def inspection(self, site: Site) -> int:
        """A fresh grade of the site's household (by an inspector of every compound)."""
        body = {
            "household_token": site.card_token,
            "point_token": site.point_token,
            "stream": "kitchen",
            "grade": "fair",
        }
        reply = await created(self.client, self.inspector_everywhere, "/api/v1/inspections", body)
        return int(reply["inspection_id"])

    async def open_appeal(self, site: Site) -> int:
        inspection_id = await self.inspection(site)
        path = f"/api/v1/inspections/{inspection_id}/appeal"
        reply = await created(self.client, site.resident, path, {"reason": "评错了"})
        return int(reply["appeal_id"])

    async def pending_shift(self, site: Site) -> int:
        """A 15-minute shift at the site's post, waiting for a coordinator."""
        volunteer = self.community_volunteer[site.community_id]
        body = {"post_token": site.post_token}
        await created(self.client, volunteer.member, "/api/v1/shifts/check-in", body)
        self.clock.advance(minutes=15)
        response = await self.client.post(
            "/api/v1/shifts/check-out",
            json={"event_id": new_event_id(), **body},
            headers=volunteer.member,
        )
        assert response.status_code == 200, response.text
        reply = response.json()
        assert reply["status"] == "pending", reply
        self.shifts_made += 1
        return int(reply["shift_id"])

    async def redemption(self, site: Site) -> int:
        body = {"household_token": site.card_token, "reward_id": site.reward_id, "quantity": 1}
        reply = await created(self.client, self.clerk_everywhere, "/api/v1/redemptions", body)
        return int(reply["redemption_id"])

    async def entry(self, site: Site) -> int:
        body = {"account_id": site.account_id, "amount_points": 1, "reason": "测试"}
        reply = await created(self.client, self.admin, "/api/v1/adjustments", body)
        return int(reply["entry_id"])


async def add_user(
    client: Client, admin: Headers, role: Role, username: str | None = None, **fields: Any
) -> tuple[str, Headers]:
    name = username or unique(f"{role.value}-")
    body = {"username": name, "password": USER_PASSWORD, "role": role.value, **fields}
    await created(client, admin, "/api/v1/users", body)
    return name, await sign_in(client, name, USER_PASSWORD)


async def build_estate(
    client: Client,
    clock: FrozenClock,
    *,
    rooms: dict[str, str] | None = None,
    volunteer_names: dict[str, str] | None = None,
    usernames: dict[Role, str] | None = None,
) -> Estate:
    """The world in the module docstring, made through the API."""
    rooms = rooms or {scope: f"{n}01" for n, scope in enumerate(SCOPES, start=1)}
    volunteer_names = volunteer_names or {}
    usernames = usernames or {}
    admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    communities = [
        (await created(client, admin, "/api/v1/communities", {"name": name}))["id"]
        for name in ("卖鱼桥社区", "大关社区")
    ]
    compounds = [
        (
            await created(
                client, admin, "/api/v1/compounds", {"community_id": community, "name": name}
            )
        )["id"]
        for community, name in (
            (communities[0], "信义坊"),
            (communities[0], "和平里"),
            (communities[1], "大关苑"),
        )
    ]
    compound_of_scope = dict(zip(SCOPES, (0, 0, 1, 2), strict=True))
    codes: dict[int, dict[str, str]] = {}
    for compound in compounds:
        codes[compound] = {
            "point": (
                await created(
                    client, admin, "/api/v1/points", {"compound_id": compound, "name": "全天点"}
                )
            )["token"],
            "post": (
                await created(
                    client, admin, "/api/v1/posts", {"compound_id": compound, "name": "东门岗"}
                )
            )["token"],
        }
    per_community: dict[int, dict[str, int]] = {}
    for community in communities:
        merchant = await created(
            client, admin, "/api/v1/merchants", {"community_id": community, "name": "菜场"}
        )
        reward = await created(
            client,
            admin,
            "/api/v1/rewards",
            {"community_id": community, "name": "环保袋", "cost_points": 1, "stock": 100_000},
        )
        per_community[community] = {"merchant": merchant["id"], "reward": reward["id"]}

    sites: dict[str, Site] = {}
    for scope in SCOPES:
        compound = compounds[compound_of_scope[scope]]
        community = communities[0] if compound_of_scope[scope] < 2 else communities[1]
        household = await created(
            client,
            admin,
            "/api/v1/households",
            {"compound_id": compound, "building": "3", "unit": "2", "room": rooms[scope]},
        )
        await created(
            client,
            admin,
            "/api/v1/adjustments",
            {
                "account_id": household["account_id"],
                "amount_points": STARTING_POINTS,
                "reason": "开户",
            },
        )
        resident_name = usernames.get(Role.RESIDENT) if scope == "own" else None
        _, resident = await add_user(
            client, admin, Role.RESIDENT, resident_name, household_id=household["id"]
        )
        sites[scope] = Site(
            community_id=community,
            compound_id=compound,
            household_id=household["id"],
            account_id=household["account_id"],
            card_token=household["card_token"],
            point_token=codes[compound]["point"],
            post_token=codes[compound]["post"],
            merchant_id=per_community[community]["merchant"],
            reward_id=per_community[community]["reward"],
            resident=resident,
        )

    volunteer_rows = {}
    for key, community in (("v1", communities[0]), ("v2", communities[0]), ("v3", communities[1])):
        name = volunteer_names.get(key, f"志愿者{key}")
        row = await created(
            client, admin, "/api/v1/volunteers", {"community_id": community, "name": name}
        )
        member_name = usernames.get(Role.VOLUNTEER) if key == "v1" else None
        _, member = await add_user(
            client, admin, Role.VOLUNTEER, member_name, volunteer_id=row["id"]
        )
        volunteer_rows[key] = VolunteerSite(row["id"], row["account_id"], member)
    volunteers = {
        "own": volunteer_rows["v1"],
        "other_household": volunteer_rows["v2"],
        "other_compound": volunteer_rows["v2"],
        "other_community": volunteer_rows["v3"],
    }

    home = {"compound_ids": [compounds[0]]}
    callers: dict[Role, Headers] = {Role.ADMIN: admin}
    names: dict[Role, str] = {Role.ADMIN: ADMIN_USERNAME}
    for role in (Role.COORDINATOR, Role.INSPECTOR, Role.CLERK):
        names[role], callers[role] = await add_user(
            client, admin, role, usernames.get(role), **home
        )
    callers[Role.VOLUNTEER] = volunteer_rows["v1"].member
    callers[Role.RESIDENT] = sites["own"].resident
    everywhere = {"compound_ids": compounds}
    _, inspector_everywhere = await add_user(client, admin, Role.INSPECTOR, **everywhere)
    _, clerk_everywhere = await add_user(client, admin, Role.CLERK, **everywhere)
    for role in (Role.VOLUNTEER, Role.RESIDENT):
        me = await client.get("/api/v1/me", headers=callers[role])
        names[role] = me.json()["username"]
    return Estate(
        client=client,
        clock=clock,
        admin=admin,
        callers=callers,
        usernames=names,
        sites=sites,
        volunteers=volunteers,
        inspector_everywhere=inspector_everywhere,
        clerk_everywhere=clerk_everywhere,
        community_volunteer={
            communities[0]: volunteer_rows["v2"],
            communities[1]: volunteer_rows["v3"],
        },
    )


def frozen_app_clock() -> FrozenClock:
    """The clock for the test's apps (`create_app(settings, clock=...)`): 10:00 in Hangzhou."""
    return FrozenClock(hangzhou(24, 10))
