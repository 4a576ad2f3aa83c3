"""The coordinator's rotation page and the inspector's day (issue 19, 2(a)), in both languages.

The app's clock is frozen on Wednesday 25 November 2026 (ISO week 2026-W48)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from tests.api.pages_helpers import Demo, seed, sign_in_page, submit
from tests.factories import FrozenClock

Client = AsyncTestClient[Any]
ENGLISH = {"Accept-Language": "en-GB,en;q=0.8"}


@pytest.fixture
async def demo(fresh_db: None, settings: Settings) -> Demo:
    """The pages' demo world, and a second compound (南苑) in its community."""
    clock = FrozenClock()
    made = await seed(settings, clock)
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    community = (await services.registry.page("communities", None, 1, {})).items[0]
    await services.registry.create_compound(SYSTEM, "r-1", int(community["id"]), "南苑")
    return made


@pytest.fixture
async def client(demo: Demo, settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings, clock=FrozenClock())) as test_client:
        yield test_client


async def _assign(client: Client, compound: str) -> Any:
    page = await client.get("/coordinator/rotation")
    community = re.search(r'name="community_id" value="(\d+)"', page.text)
    assert community
    return await submit(
        client,
        page.text,
        "/coordinator/rotation",
        community_id=community[1],
        inspector_id=_option(page.text, "inspector_id", "inspector"),
        compound_id=_option(page.text, "compound_id", compound),
        week="2026-W48",
        outcome="assign",
    )


def _option(html: str, select: str, label: str) -> str:
    block = html[html.index(f'name="{select}"') :]
    match = re.search(rf'<option value="(\d+)">{label}</option>', block)
    assert match, f"{label} in {select}"
    return match.group(1)


async def test_a_coordinator_plans_a_week_and_the_inspector_sees_it(client: Client) -> None:
    await sign_in_page(client, "coordinator")
    page = await client.get("/coordinator/rotation")
    assert page.status_code == 200, page.text
    assert "督导员轮岗" in page.text
    assert "2026-W48" in page.text
    assert 'id="inspector-' in page.text  # the demo's inspector has a row
    english = await client.get("/coordinator/rotation", headers=ENGLISH)
    assert "Inspector rotation" in english.text
    assert "4 weeks running" in english.text
    assert "Inspector rotation" in (await client.get("/coordinator", headers=ENGLISH)).text

    saved = await _assign(client, "信义坊")
    assert saved.status_code == 200, saved.text
    assert "轮岗安排已保存" in saved.text
    row = saved.text[saved.text.index('id="inspector-') :].split("</tr>")[0]
    assert "信义坊" in row

    client.cookies.clear()
    await sign_in_page(client, "inspector")
    home = await client.get("/inspector")
    assert home.status_code == 200, home.text
    assert "本周（2026-W48）安排检查：" in home.text
    assert "信义坊" in home.text
    english = await client.get("/inspector", headers=ENGLISH)
    assert "Assigned this week (2026-W48):" in english.text


async def test_the_inspector_without_a_plan_sees_their_compounds(client: Client) -> None:
    await sign_in_page(client, "inspector")
    home = await client.get("/inspector", headers=ENGLISH)
    assert home.status_code == 200, home.text
    assert "Your compounds:" in home.text
    assert "Assigned this week" not in home.text


async def test_a_card_of_a_compound_not_assigned_this_week_says_so(
    client: Client, demo: Demo
) -> None:
    await sign_in_page(client, "coordinator")
    assert (await _assign(client, "南苑")).status_code == 200
    client.cookies.clear()
    await sign_in_page(client, "inspector")
    card = await client.get(f"/q/{demo.card_token}")  # a household of 信义坊
    assert card.status_code == 200, card.text
    assert "本周您被安排检查其他小区" in card.text
    assert 'name="grade"' not in card.text
    english = await client.get(f"/q/{demo.card_token}", headers=ENGLISH)
    assert "This week you are assigned to other compounds" in english.text
    home = await client.get("/inspector")
    assert "南苑" in home.text
