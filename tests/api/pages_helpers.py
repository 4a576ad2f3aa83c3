"""Shared set-up for the page tests: a small subdistrict and sign-in through the form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar.testing import AsyncTestClient

from api.settings import Settings
from ledger.domain.access import SYSTEM, Role
from ledger.ports import Clock
from ledger.services.catalog import RewardFields
from ledger.services.container import Services
from ledger.services.registry import HouseholdRequest
from ledger.services.users import LoginRequest

DEMO_PASSWORD = "demo-pass-2026"
_CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Demo:
    """Tokens of the codes the logins meet: the resident's own card, the compound's point and
    post."""

    card_token: str
    point_token: str
    post_token: str
    household_id: int
    account_id: int


async def seed(settings: Settings, clock: Clock | None = None) -> Demo:
    """One compound with two households, a point open all day, a post, a shop, a reward, and
    one login per role (the names `seed-demo` uses), all through the services (on `clock`)."""
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    registry, users = services.registry, services.users
    community = await registry.create_community(SYSTEM, "c-1", "卖鱼桥社区")
    compound = await registry.create_compound(SYSTEM, "c-2", community.id, "信义坊")
    own = await registry.create_household(
        SYSTEM, "c-3", HouseholdRequest(compound.id, "1", "1", "101")
    )
    await registry.create_household(SYSTEM, "c-4", HouseholdRequest(compound.id, "2", "1", "102"))
    point = await registry.create_point(
        SYSTEM, "c-5", compound.id, "1幢东侧投放点", ["00:00-24:00"]
    )
    post = await registry.create_post(SYSTEM, "c-6", compound.id, "东门志愿服务岗")
    volunteer = await registry.create_volunteer(SYSTEM, "c-7", community.id, "王建国")
    await registry.create_merchant(SYSTEM, "c-8", community.id, "卖鱼桥菜场")
    await services.catalog.create(
        SYSTEM, "c-9", community.id, RewardFields(name="垃圾袋一卷", cost_points=30, stock=50)
    )
    await services.accounts.adjust(SYSTEM, "c-10", own.account_id, 24, "纸质积分本结转")
    scoped = (compound.id,)
    for role in Role:
        request = LoginRequest(
            role.value,
            DEMO_PASSWORD,
            role,
            household_id=own.id if role is Role.RESIDENT else None,
            volunteer_id=volunteer.id if role is Role.VOLUNTEER else None,
            compound_ids=scoped if role in (Role.INSPECTOR, Role.CLERK, Role.COORDINATOR) else (),
        )
        await users.create(SYSTEM, f"user-{role.value}", request)
    return Demo(
        card_token=own.card_token,
        point_token=point.token,
        post_token=post.token,
        household_id=own.id,
        account_id=own.account_id,
    )


def csrf_from(html: str) -> str:
    match = _CSRF_INPUT.search(html)
    assert match, "the page has a CSRF field"
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"the page has a {name} field"
    return match.group(1)


async def sign_in_page(client: AsyncTestClient[Any], username: str) -> None:
    """Through the form, as a browser does: the JWT lands in the HttpOnly cookie."""
    form = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.status_code
    assert "gl_token" in client.cookies


async def submit(client: AsyncTestClient[Any], page_html: str, action: str, **fields: Any) -> Any:
    """POST a form the way the page would: its CSRF token and its event_id."""
    data = {"_csrf_token": csrf_from(page_html), **fields}
    if "event_id" not in fields and 'name="event_id"' in page_html:
        data["event_id"] = hidden(page_html, "event_id")
    return await client.post(action, data=data)
