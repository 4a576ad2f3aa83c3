"""GET /api/v1/me/notices, POST /api/v1/me/notices:read, the inbox on the home page and the
unread count in the top bar (both engines)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import SYSTEM
from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from ledger.services.grading import Grading
from tests.api.conftest import assert_error, sign_in
from tests.api.pages_helpers import DEMO_PASSWORD, Demo, csrf_from, seed, sign_in_page

Client = AsyncTestClient[Any]
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def decide_an_appeal(settings: Settings, demo: Demo) -> None:
    """A poor grade, its appeal and an upheld decision, through the services (as the pages and
    the API call them), two card re-issues; then what the background loops do. Before the app
    starts: on PostgreSQL its pool belongs to the test client's loop."""
    services = Services.build(settings.keyring(), settings.base_url)
    inspector = await services.users.authenticate("inspector", DEMO_PASSWORD)
    resident = await services.users.authenticate("resident", DEMO_PASSWORD)
    coordinator = await services.users.authenticate("coordinator", DEMO_PASSWORD)
    graded = await services.gradings.inspect(
        inspector,
        Grading(
            "n-grade",
            demo.card_token,
            demo.point_token,
            Stream.KITCHEN,
            Grade.POOR,
            ["mixed"],
            None,
        ),
    )
    opened = await services.appeals.open(resident, "n-appeal", graded.inspection_id, "看错了")
    await services.appeals.decide(coordinator, "n-decide", opened.appeal_id, True, Grade.GOOD)
    for key in ("card-1", "card-2"):  # and two newer notices
        await services.registry.reissue_card(SYSTEM, key, demo.household_id)
    await project(settings)


async def project(settings: Settings) -> None:
    services = Services.build(settings.keyring(), settings.base_url)
    await services.sealer.seal_all()
    await services.notice_projector.catch_up()


@pytest.fixture
async def town(fresh_db: None, settings: Settings) -> AsyncIterator[tuple[Client, Demo]]:
    demo = await seed(settings)
    await decide_an_appeal(settings, demo)
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client, demo


async def test_the_resident_reads_the_decision_in_their_language(
    town: tuple[Client, Demo],
) -> None:
    client, demo = town
    resident = await sign_in(client, "resident", DEMO_PASSWORD)
    english = await client.get(
        "/api/v1/me/notices", headers=resident | {"Accept-Language": "en-GB,en;q=0.9"}
    )
    assert english.status_code == 200, english.text
    body = english.json()
    assert body["unread"] == 3
    assert body["next_cursor"] is None
    assert [n["kind"] for n in body["items"]] == [
        "card_reissued",
        "card_reissued",
        "appeal_decided",
    ]
    notice = body["items"][2]
    assert notice["kind"] == "appeal_decided"
    assert notice["outcome"] == "upheld"
    assert notice["new_grade"] == "good"
    assert notice["household_id"] == demo.household_id
    assert notice["read"] is False
    assert "upheld" in notice["text"]
    assert set(notice) >= {"id", "kind", "created_at", "read", "text"}

    chinese = await client.get("/api/v1/me/notices", headers=resident)  # no header: Chinese
    assert "已被采纳" in chinese.json()["items"][2]["text"]
    chosen = await client.get("/api/v1/me/notices", params={"lang": "en"}, headers=resident)
    assert "upheld" in chosen.json()["items"][2]["text"]

    for role in ("coordinator", "inspector", "volunteer"):  # not theirs
        other = await sign_in(client, role, DEMO_PASSWORD)
        reply = (await client.get("/api/v1/me/notices", headers=other)).json()
        assert reply == {"items": [], "next_cursor": None, "unread": 0}


async def test_marking_read_and_paging(town: tuple[Client, Demo]) -> None:
    client, _ = town
    resident = await sign_in(client, "resident", DEMO_PASSWORD)

    first = (await client.get("/api/v1/me/notices", params={"limit": 2}, headers=resident)).json()
    assert [n["kind"] for n in first["items"]] == ["card_reissued", "card_reissued"]
    rest = await client.get(
        "/api/v1/me/notices", params={"limit": 2, "cursor": first["next_cursor"]}, headers=resident
    )
    assert [n["kind"] for n in rest.json()["items"]] == ["appeal_decided"]
    assert rest.json()["next_cursor"] is None

    newest = first["items"][0]["id"]
    marked = await client.post("/api/v1/me/notices:read", json={"ids": [newest]}, headers=resident)
    assert marked.status_code == 200, marked.text
    assert marked.json() == {"marked": 1, "unread": 2}
    again = await client.post("/api/v1/me/notices:read", json={"ids": [newest]}, headers=resident)
    assert again.json() == {"marked": 0, "unread": 2}
    every = await client.post(
        "/api/v1/me/notices:read", json={"up_to_id": newest}, headers=resident
    )
    assert every.json() == {"marked": 2, "unread": 0}

    for body, field in (({}, "ids"), ({"ids": [1], "up_to_id": 1}, "ids")):
        refused = await client.post("/api/v1/me/notices:read", json=body, headers=resident)
        assert assert_error(refused, 400, "validation_error")["field"] == field
    for body in ({"ids": []}, {"ids": [0]}, {"up_to_id": -1}, {"everything": True}):
        refused = await client.post("/api/v1/me/notices:read", json=body, headers=resident)
        assert_error(refused, 400, "validation_error")
    bad_cursor = await client.get("/api/v1/me/notices", params={"cursor": "x"}, headers=resident)
    assert_error(bad_cursor, 400, "validation_error")
    assert_error(await client.get("/api/v1/me/notices"), 401, "unauthorized")


async def test_the_home_page_shows_the_inbox_and_the_top_bar_the_unread_count(
    town: tuple[Client, Demo],
) -> None:
    client, _ = town
    client.headers.update(BROWSER)
    await sign_in_page(client, "resident")
    home = await client.get("/home", params={"lang": "en"})
    assert home.status_code == 200
    assert 'id="unread-notices"' in home.text
    assert '<span class="badge" aria-label="3 unread">3</span>' in home.text
    assert "was upheld: the grade is now" in home.text

    read = await client.post(
        "/notices/read",
        data={"up_to_id": "999", "_csrf_token": csrf_from(home.text)},
        follow_redirects=False,
    )
    assert read.status_code == 303
    assert read.headers["location"] == "/home#notices"
    home = await client.get("/home", params={"lang": "zh_CN"})
    assert 'class="badge"' not in home.text
    assert "已被采纳" in home.text
    assert 'id="mark-read"' not in home.text  # nothing left to mark
