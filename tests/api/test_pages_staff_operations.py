"""Issue 14, item 5: a page for every staff operation that was only in the API.

For each: it works from its page, a bad input is refused with the field named on the page and
nothing changed, and sending the same form again (Back, reload, a double tap: the same event
id, kept in the page's URL) replays the first answer instead of acting twice. The app's clock
is frozen at Wednesday 2026-11-25 10:00 in Hangzhou.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
from ledger.services import views
from ledger.services.container import Services
from tests.api.pages_helpers import DEMO_PASSWORD, Demo, seed, sign_in_page, submit
from tests.api.test_access_table import NOT_API
from tests.factories import FrozenClock

Client = AsyncTestClient[Any]
EN = {"lang": "en"}


@dataclass(frozen=True)
class World:
    demo: Demo
    services: Services
    reward_id: int
    merchant_id: int
    volunteer_id: int
    compound_id: int
    user_ids: dict[str, int]


@pytest.fixture
async def world(fresh_db: None, settings: Settings) -> World:
    clock = FrozenClock()
    demo = await seed(settings, clock)
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    household = await views.household(demo.household_id)
    community = {"community": household.community_id}
    rewards = await services.registry.page("rewards", None, 10, community)
    merchants = await services.registry.page("merchants", None, 10, community)
    volunteers = await services.registry.page("volunteers", None, 10, community)
    return World(
        demo,
        services,
        rewards.items[0]["id"],
        merchants.items[0]["id"],
        volunteers.items[0]["id"],
        household.compound,
        {row.username: row.id for row in await views.users()},
    )


@pytest.fixture
async def client(world: World, settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings, clock=world.services.clock)) as test_client:
        yield test_client


async def form_page(client: Client, path: str) -> tuple[str, str]:
    """Open a form's page as a browser does: the first visit mints the event id in the URL."""
    first = await client.get(path, params=EN, follow_redirects=False)
    assert first.status_code == 303, (first.status_code, first.text[-300:])
    location = first.headers["location"]
    assert parse_qs(urlsplit(location).query)["event"], location
    page = await client.get(location)
    assert page.status_code == 200, page.text[-300:]
    return location, page.text


async def api(client: Client, username: str, method: str, path: str, **body: Any) -> Any:
    """The JSON API with the user's bearer token: checks and set-up go through the running app
    (on PostgreSQL its pool lives on the app's loop)."""
    csrf = client.cookies.get("gl_csrf")
    signed = await client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": DEMO_PASSWORD},
        headers={"x-csrftoken": csrf} if csrf else {},
    )
    assert signed.status_code == 200, signed.text
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    reply = await client.request(method, path, json=body or None, headers=headers)
    assert reply.status_code < 300, reply.text
    return reply.json()


async def balance(client: Client, world: World) -> int:
    account = await api(client, "admin", "GET", f"/api/v1/accounts/{world.demo.account_id}")
    return int(account["balance_points"])


async def entries_of_kind(client: Client, world: World, kind: str) -> int:
    path = f"/api/v1/accounts/{world.demo.account_id}/entries?limit=100"
    entries = (await api(client, "admin", "GET", path))["items"]
    return sum(1 for entry in entries if entry["kind"] == kind)


async def gift(client: Client, world: World, points: int) -> None:
    await api(
        client, "admin", "POST", "/api/v1/adjustments", event_id="gift",
        account_id=world.demo.account_id, amount_points=points, reason="test",
    )  # fmt: skip


def refused_naming(response: Any, field: str) -> None:
    assert response.status_code == 400, response.status_code
    assert f"Check this field: {field}." in response.text, response.text[-600:]
    assert "Nothing was changed." in response.text


# -- the clerk: weigh-ins --------------------------------------------------------------------


async def test_a_clerk_weighs_recyclables_from_the_scanned_card(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    counter = await client.get(f"/q/{token}", params=EN)
    assert f'href="/scan/{token}/weigh"' in counter.text
    url, page = await form_page(client, f"/scan/{token}/weigh")
    done = await submit(client, page, f"/scan/{token}/weigh", material="paper", kilograms="2.5")
    assert done.status_code == 200, done.text[-600:]
    assert 'id="again"' not in done.text
    points = re.search(r"Points earned: (\d+)", done.text)
    assert points
    assert int(points.group(1)) > 0
    assert await balance(client, world) == 24 + int(points.group(1))

    back = await client.get(url)  # Back: the same event id, and the page says it was done
    assert 'id="already-done"' in back.text
    again = await submit(
        client, back.text, f"/scan/{token}/weigh", material="paper", kilograms="2.5"
    )
    assert again.status_code == 200
    assert 'id="again"' in again.text
    assert f"Points earned: {points.group(1)}" in again.text
    assert await entries_of_kind(client, world, "weighin") == 1
    assert await balance(client, world) == 24 + int(points.group(1))


@pytest.mark.parametrize("kilograms", ["abc", "-1", "0", "31"])
async def test_a_bad_weight_is_refused_naming_the_weight(
    client: Client, world: World, kilograms: str
) -> None:
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    _, page = await form_page(client, f"/scan/{token}/weigh")
    refused = await submit(
        client, page, f"/scan/{token}/weigh", material="paper", kilograms=kilograms
    )
    refused_naming(refused, "Weight (kg)")
    assert f'href="/scan/{token}/weigh"' in refused.text  # try again: a fresh form
    assert await entries_of_kind(client, world, "weighin") == 0
    assert await balance(client, world) == 24


async def test_an_unknown_material_is_refused_naming_it(client: Client, world: World) -> None:
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    _, page = await form_page(client, f"/scan/{token}/weigh")
    refused = await submit(client, page, f"/scan/{token}/weigh", material="gold", kilograms="1")
    refused_naming(refused, "Material")
    assert await entries_of_kind(client, world, "weighin") == 0


# -- refunds (clerk, admin) ------------------------------------------------------------------


async def a_redemption(client: Client, world: World) -> int:
    result = await api(
        client, "clerk", "POST", "/api/v1/redemptions", event_id="r-1",
        household_token=world.demo.card_token, reward_id=world.reward_id, quantity=1,
    )  # fmt: skip
    return int(result["redemption_id"])


@pytest.mark.parametrize("username", ["clerk", "admin"])
async def test_a_redemption_is_refunded_once_from_the_counter(
    client: Client, world: World, username: str
) -> None:
    await gift(client, world, 100)
    redemption_id = await a_redemption(client, world)
    assert await balance(client, world) == 94
    await sign_in_page(client, username)
    url, page = await form_page(client, "/counter/refund")
    fields = {"redemption_id": str(redemption_id), "reason": "wrong reward"}
    done = await submit(client, page, "/counter/refund", **fields)
    assert done.status_code == 200, done.text[-600:]
    assert f"Redemption {redemption_id} refunded" in done.text
    assert await balance(client, world) == 124
    again = await submit(client, (await client.get(url)).text, "/counter/refund", **fields)
    assert again.status_code == 200
    assert 'id="again"' in again.text
    assert await balance(client, world) == 124


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"redemption_id": "x", "reason": "wrong reward"}, "Redemption no."),
        ({"redemption_id": "{id}", "reason": "  "}, "Reason"),
    ],
)
async def test_a_bad_refund_is_refused_naming_the_field(
    client: Client, world: World, fields: dict[str, str], named: str
) -> None:
    await gift(client, world, 100)
    redemption_id = await a_redemption(client, world)
    await sign_in_page(client, "clerk")
    _, page = await form_page(client, "/counter/refund")
    sent = {k: v.replace("{id}", str(redemption_id)) for k, v in fields.items()}
    refused_naming(await submit(client, page, "/counter/refund", **sent), named)
    assert await balance(client, world) == 94


# -- reversals (admin) -----------------------------------------------------------------------


async def test_an_admin_reverses_an_entry_from_the_accounts_history(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "admin")
    found = await client.get("/staff/households", params={**EN, "q": "1-1-101"})
    assert f'href="/staff/accounts/{world.demo.account_id}"' in found.text
    history = await client.get(f"/staff/accounts/{world.demo.account_id}", params=EN)
    link = re.search(r'href="(/staff/entries/(\d+)/reverse)"', history.text)
    assert link, "the opening adjustment can be reversed"
    url, page = await form_page(client, link.group(1))
    done = await submit(client, page, link.group(1), reason="entered twice")
    assert done.status_code == 200, done.text[-600:]
    assert f"Entry {link.group(2)} reversed" in done.text
    assert await balance(client, world) == 0
    again = await submit(
        client, (await client.get(url)).text, link.group(1), reason="entered twice"
    )
    assert again.status_code == 200
    assert 'id="again"' in again.text
    assert await balance(client, world) == 0
    history = await client.get(f"/staff/accounts/{world.demo.account_id}", params=EN)
    assert link.group(1) not in history.text  # a reversed entry offers no second reversal


async def test_a_reversal_without_a_reason_is_refused_naming_it(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "admin")
    history = await client.get(f"/staff/accounts/{world.demo.account_id}", params=EN)
    link = re.search(r'href="(/staff/entries/\d+/reverse)"', history.text)
    assert link
    _, page = await form_page(client, link.group(1))
    refused_naming(await submit(client, page, link.group(1), reason=""), "Reason")
    assert await balance(client, world) == 24


# -- settlements and statements (admin) ------------------------------------------------------


async def a_payment(client: Client, world: World, points: int) -> None:
    await api(
        client, "clerk", "POST", "/api/v1/payments", event_id="pay-1",
        household_token=world.demo.card_token, merchant_id=world.merchant_id,
        amount_points=points,
    )  # fmt: skip


async def merchant_balance(client: Client, world: World) -> int:
    merchants = await api(client, "admin", "GET", "/api/v1/merchants")
    account_id = next(m["account_id"] for m in merchants["items"] if m["id"] == world.merchant_id)
    account = await api(client, "admin", "GET", f"/api/v1/accounts/{account_id}")
    return int(account["balance_points"])


async def test_an_admin_settles_a_shop_once_and_downloads_its_statement(
    client: Client, world: World
) -> None:
    await a_payment(client, world, 20)
    await sign_in_page(client, "admin")
    shops = await client.get("/staff/merchants", params=EN)
    path = f"/staff/merchants/{world.merchant_id}/settle"
    assert f'href="{path}"' in shops.text
    assert "To settle: 20 points" in shops.text
    url, page = await form_page(client, path)
    done = await submit(client, page, path)
    assert done.status_code == 200, done.text[-600:]
    assert "settled: 20 points" in done.text
    again = await submit(client, (await client.get(url)).text, path)
    assert again.status_code == 200
    assert 'id="again"' in again.text
    assert await merchant_balance(client, world) == 0

    statement = await client.get(
        f"/api/v1/merchants/{world.merchant_id}/statement",
        params={"format": "csv", "from": "2026-11-01", "to": "2026-11-25"},
    )
    assert statement.status_code == 200
    assert statement.headers["content-type"].startswith("text/csv")
    assert "settlement" in statement.text


async def test_a_settlement_without_its_event_id_changes_nothing(
    client: Client, world: World
) -> None:
    await a_payment(client, world, 20)
    await sign_in_page(client, "admin")
    path = f"/staff/merchants/{world.merchant_id}/settle"
    _, page = await form_page(client, path)
    refused_naming(await submit(client, page, path, event_id=""), "Form")
    assert await merchant_balance(client, world) == 20


async def test_a_statement_with_its_days_reversed_names_the_field(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "admin")
    statement = await client.get(
        f"/api/v1/merchants/{world.merchant_id}/statement",
        params={"format": "csv", "from": "2026-11-25", "to": "2026-11-01"},
        headers={"Accept": "application/json"},
    )
    assert statement.status_code == 400
    assert statement.json()["field"] == "to"


# -- back-filled hours (coordinator) ---------------------------------------------------------


async def backfilled_minutes(client: Client, world: World) -> int:
    path = f"/api/v1/volunteers/{world.volunteer_id}/hours"
    return int((await api(client, "admin", "GET", path))["backfilled_minutes"])


def backfill_fields(world: World, **changes: str) -> dict[str, str]:
    fields = {
        "volunteer_id": str(world.volunteer_id),
        "compound_id": str(world.compound_id),
        "day": "2026-11-24",
        "hours": "2",
        "note": "paper sheet",
    }
    return fields | changes


async def test_a_coordinator_back_fills_hours_once(client: Client, world: World) -> None:
    await sign_in_page(client, "coordinator")
    home = await client.get("/coordinator", params=EN)
    assert 'href="/coordinator/backfill"' in home.text
    url, page = await form_page(client, "/coordinator/backfill")
    done = await submit(client, page, "/coordinator/backfill", **backfill_fields(world))
    assert done.status_code == 200, done.text[-600:]
    assert "Hours entered: 120 min." in done.text
    again = await submit(
        client, (await client.get(url)).text, "/coordinator/backfill", **backfill_fields(world)
    )
    assert again.status_code == 200
    assert 'id="again"' in again.text
    assert await backfilled_minutes(client, world) == 120


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"hours": "two"}, "Hours"),
        ({"day": "yesterday"}, "Day"),
        ({"day": "2026-11-26"}, "Day"),  # the future
        ({"note": ""}, "Where the hours come from"),
        ({"volunteer_id": "0"}, "Volunteer"),
    ],
)
async def test_bad_back_filled_hours_are_refused_naming_the_field(
    client: Client, world: World, changes: dict[str, str], named: str
) -> None:
    await sign_in_page(client, "coordinator")
    _, page = await form_page(client, "/coordinator/backfill")
    sent = backfill_fields(world, **changes)
    refused_naming(await submit(client, page, "/coordinator/backfill", **sent), named)
    assert await backfilled_minutes(client, world) == 0


async def test_more_than_the_days_maximum_is_refused_and_changes_nothing(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "coordinator")
    _, page = await form_page(client, "/coordinator/backfill")
    refused = await submit(
        client, page, "/coordinator/backfill", **backfill_fields(world, hours="9")
    )
    assert refused.status_code == 422
    assert "maximum of volunteer hours" in refused.text
    assert await backfilled_minutes(client, world) == 0


# -- card re-issue (admin) -------------------------------------------------------------------


async def test_an_admin_reissues_a_card_and_prints_it_at_once(client: Client, world: World) -> None:
    await sign_in_page(client, "admin")
    found = await client.get("/staff/households", params={**EN, "q": "101"})
    path = f"/staff/households/{world.demo.household_id}/card"
    assert f'href="{path}"' in found.text
    url, page = await form_page(client, path)
    done = await submit(client, page, path)
    assert done.status_code == 200, done.text[-600:]
    image = f"/api/v1/qr/household/{world.demo.household_id}.svg"
    assert f'src="{image}"' in done.text
    assert (await client.get(image)).status_code == 200
    old = await client.get(f"/q/{world.demo.card_token}")
    assert old.status_code == 404  # the old card is void
    new_card = await current_card(client, world)
    again = await submit(client, (await client.get(url)).text, path)
    assert again.status_code == 200
    assert 'id="again"' in again.text
    assert await current_card(client, world) == new_card != world.demo.card_token  # re-issued once


async def current_card(client: Client, world: World) -> str:
    path = f"/api/v1/households?compound_id={world.compound_id}"
    listed = (await api(client, "admin", "GET", path))["items"]
    return str(next(h["token"] for h in listed if h["id"] == world.demo.household_id))


async def test_a_card_reissue_without_its_event_id_changes_nothing(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "admin")
    path = f"/staff/households/{world.demo.household_id}/card"
    _, page = await form_page(client, path)
    refused_naming(await submit(client, page, path, event_id=""), "Form")
    assert (await client.get(f"/q/{world.demo.card_token}")).status_code == 200


# -- deactivating a user (admin) -------------------------------------------------------------


async def test_an_admin_deactivates_a_user_once(client: Client, world: World) -> None:
    resident = {"id": world.user_ids["resident"]}
    await sign_in_page(client, "admin")
    listed = await client.get("/staff/users", params=EN)
    path = f"/staff/users/{resident['id']}/deactivate"
    assert f'href="{path}"' in listed.text
    url, page = await form_page(client, path)
    done = await submit(client, page, path)
    assert done.status_code == 200, done.text[-600:]
    assert "resident can no longer sign in" in done.text
    again = await submit(client, (await client.get(url)).text, path)
    assert again.status_code == 200
    assert 'id="again"' in again.text
    assert not await can_sign_in(client, "resident")
    listed = await client.get("/staff/users", params=EN)
    assert f'href="{path}"' not in listed.text


async def test_an_admin_cannot_deactivate_themselves(client: Client, world: World) -> None:
    admin = {"id": world.user_ids["admin"]}
    await sign_in_page(client, "admin")
    path = f"/staff/users/{admin['id']}/deactivate"
    _, page = await form_page(client, path)
    refused_naming(await submit(client, page, path), "User")
    assert await can_sign_in(client, "admin")


async def can_sign_in(client: Client, username: str) -> bool:
    csrf = client.cookies.get("gl_csrf")
    signed = await client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": DEMO_PASSWORD},
        headers={"x-csrftoken": csrf} if csrf else {},
    )
    return signed.status_code == 200


# -- who may open the new pages (tests/api/test_access_table.py's NOT_API says who) -----------


def new_pages(world: World) -> dict[str, str]:
    return {
        "/scan/{token:str}/weigh": f"/scan/{world.demo.card_token}/weigh",
        "/counter/refund": "/counter/refund",
        "/coordinator/backfill": "/coordinator/backfill",
        "/staff/households": "/staff/households",
        "/staff/accounts/{account_id:int}": f"/staff/accounts/{world.demo.account_id}",
        "/staff/entries/{entry_id:int}/reverse": "/staff/entries/1/reverse",
        "/staff/merchants": "/staff/merchants",
        "/staff/merchants/{merchant_id:int}/settle": f"/staff/merchants/{world.merchant_id}/settle",
        "/staff/households/{household_id:int}/card": (
            f"/staff/households/{world.demo.household_id}/card"
        ),
        "/staff/users": "/staff/users",
        "/staff/users/{user_id:int}/deactivate": "/staff/users/1/deactivate",
    }


@pytest.mark.parametrize("role", [role.value for role in Role])
async def test_each_new_page_opens_for_its_roles_only(
    client: Client, world: World, role: str
) -> None:
    await sign_in_page(client, role)
    for route, path in new_pages(world).items():
        who = NOT_API[f"GET {route}"]
        response = await client.get(path, follow_redirects=False)
        expected = (200, 303) if role in who.split(", ") else (403,)
        assert response.status_code in expected, (role, path, response.status_code)
        post = NOT_API.get(f"POST {route}")
        assert post in (None, who), route
