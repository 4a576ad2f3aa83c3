"""Issue 15, items 1 and 6 together: a join is told to the household's other members, once,
in their inbox; the joiner is not told of their own join (both engines). The app runs its own
background loops here (the sealer numbers the notice facts, the notice projector makes them),
as a served app does."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, Headers, bearer, sign_in
from tests.api.test_join_api import OTHER_PIN, PIN, household, joined

Api = tuple[AsyncTestClient[Any], Headers]
WAIT_STEPS = 200  # x 0.05 s: the loops pass every half second


@pytest.fixture
async def served(admin_user: None, settings: Settings) -> AsyncIterator[Api]:
    with_loops = dataclasses.replace(settings, run_sealer=True)
    async with AsyncTestClient(app=create_app(with_loops)) as client:
        yield client, await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)


async def inbox(client: AsyncTestClient[Any], token: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/me/notices", headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def inbox_once_it_has(
    client: AsyncTestClient[Any], token: str, count: int
) -> list[dict[str, Any]]:
    """The inbox once the loops have made `count` notices for this reader (or as it is then)."""
    for _ in range(WAIT_STEPS):
        items = await inbox(client, token)
        if len(items) >= count:
            return items
        await asyncio.sleep(0.05)
    return await inbox(client, token)


async def test_the_other_members_hear_of_a_join_once(served: Api) -> None:
    client, admin = served
    world, code = await household(client, admin)
    first = await joined(client, world.card_token, code, phone="13812345678", pin=PIN)
    second = await joined(
        client, world.card_token, code, phone="13912345678", pin=OTHER_PIN, display_name="小王"
    )
    told = await inbox_once_it_has(client, first["access_token"], 1)
    assert [(n["kind"], n["user_id"], n["display_name"]) for n in told] == [
        ("member_joined", second["user_id"], "小王")
    ]
    assert told[0]["household_id"] == world.household_id
    assert "13912345678" not in told[0]["text"]
    # The joiner is not told of their own join (they see the household's earlier news: the
    # first member's join).
    theirs = await inbox_once_it_has(client, second["access_token"], 1)
    assert [(n["kind"], n["user_id"]) for n in theirs] == [("member_joined", first["user_id"])]
    # The same join again (a retry) tells nobody twice: a third join is the next news.
    await joined(client, world.card_token, code, phone="13912345678", pin=OTHER_PIN)
    await joined(client, world.card_token, code, phone="13712345678", pin=OTHER_PIN)
    after = await inbox_once_it_has(client, first["access_token"], 2)
    assert [n["kind"] for n in after] == ["member_joined", "member_joined"]
    assert after[1]["id"] == told[0]["id"]
