"""Issue 13: one action is one event whatever the browser resends, and the counter's and
volunteers' pages say what happened, with the numbers. The app's clock is frozen at
Wednesday 2026-11-25 10:00 in Hangzhou."""

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
from ledger.domain.access import SYSTEM
from ledger.services import views
from ledger.services.catalog import RewardFields
from ledger.services.container import Services
from tests.api.pages_helpers import Demo, hidden, seed, sign_in_page, submit
from tests.factories import FrozenClock

Client = AsyncTestClient[Any]
ADMIN_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class World:
    demo: Demo
    clock: FrozenClock
    limited_reward_id: int
    reward_id: int
    closed_point_token: str
    community_id: int


@pytest.fixture
async def world(fresh_db: None, settings: Settings) -> World:
    clock = FrozenClock()
    demo = await seed(settings, clock)
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    household = await views.household(demo.household_id)
    community_id = household.community_id
    limited = await services.catalog.create(
        SYSTEM,
        "r-limited",
        community_id,
        RewardFields(name="环保袋", cost_points=30, stock=50, monthly_limit_per_household=3),
    )
    rewards = await services.registry.page("rewards", None, 10, {"community": community_id})
    point = await services.registry.create_point(
        SYSTEM, "p-closed", household.compound, "早晚投放点", ["07:00-09:00", "17:30-19:00"]
    )
    return World(
        demo,
        clock,
        limited.id,
        next(r["id"] for r in rewards.items if r["id"] != limited.id),
        point.token,
        community_id,
    )


@pytest.fixture
async def client(world: World, settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings, clock=world.clock)) as test_client:
        yield test_client


async def bearer_of(client: Client, username: str) -> dict[str, str]:
    """A bearer token beside the page's cookie (the token request rides on the cookie, so it
    carries the CSRF header as the pages' own scripts do)."""
    csrf = client.cookies.get("gl_csrf")
    reply = await client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": ADMIN_PASSWORD},
        headers={"x-csrftoken": csrf} if csrf else {},
    )
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def admin_headers(client: Client) -> dict[str, str]:
    return await bearer_of(client, "admin")


async def give_points(client: Client, world: World, points: int) -> None:
    body = {
        "event_id": f"gift-{points}",
        "account_id": world.demo.account_id,
        "amount_points": points,
        "reason": "test",
    }
    response = await client.post(
        "/api/v1/adjustments", json=body, headers=await admin_headers(client)
    )
    assert response.status_code == 201, response.text


async def entries_of_kind(client: Client, world: World, kind: str) -> int:
    path = f"/api/v1/accounts/{world.demo.account_id}/entries?limit=100"
    reply = await client.get(path, headers=await admin_headers(client))
    assert reply.status_code == 200, reply.text
    return sum(1 for entry in reply.json()["items"] if entry["kind"] == kind)


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"the page has #{element_id}"
    return match.group(1).strip()


async def chosen(client: Client, path: str, **params: Any) -> str:
    """What choosing does: the page answers with its own URL plus a fresh event id."""
    first = await client.get(path, params=params, follow_redirects=False)
    assert first.status_code == 303, first.status_code
    location = first.headers["location"]
    assert parse_qs(urlsplit(location).query)["event"], location
    return location


# -- #1: the counter ---------------------------------------------------------------------------


async def test_back_to_the_confirm_page_and_confirm_again_charges_once(
    client: Client, world: World
) -> None:
    await give_points(client, world, 500)
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    url = await chosen(client, f"/scan/{token}/redeem", reward_id=world.reward_id, quantity=1)
    confirm = await client.get(url)
    assert 'id="already-done"' not in confirm.text
    fields = {"reward_id": str(world.reward_id), "quantity": "1"}
    receipt = await submit(client, confirm.text, f"/scan/{token}/redeem", **fields)
    assert receipt.status_code == 200, receipt.text
    assert 'id="receipt-again"' not in receipt.text

    back = await client.get(url)  # Back: the same URL, so the same event id
    assert hidden(back.text, "event_id") == hidden(confirm.text, "event_id")
    assert 'id="already-done"' in back.text
    again = await submit(client, back.text, f"/scan/{token}/redeem", **fields)
    assert again.status_code == 200, again.text
    assert 'id="receipt-again"' in again.text
    assert text_of(again.text, "receipt-number") == text_of(receipt.text, "receipt-number")
    assert await entries_of_kind(client, world, "redemption") == 1

    other = await chosen(client, f"/scan/{token}/redeem", reward_id=world.reward_id, quantity=1)
    assert other != url  # choosing again is a new redemption, with its own event id


async def test_a_payment_chosen_once_is_paid_once(client: Client, world: World) -> None:
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    counter = await client.get(f"/q/{token}")
    merchant = re.search(r'<option value="(\d+)">', counter.text)
    assert merchant
    url = await chosen(client, f"/scan/{token}/pay", merchant_id=merchant.group(1), amount=5)
    fields = {"merchant_id": merchant.group(1), "amount": "5"}
    for _ in range(2):
        confirm = await client.get(url)
        receipt = await submit(client, confirm.text, f"/scan/{token}/pay", **fields)
        assert receipt.status_code == 200, receipt.text
    assert await entries_of_kind(client, world, "payment") == 1


@pytest.fixture
async def reward_101(world: World, settings: Settings) -> int:
    """A 101st reward in the world's community (and more), made before the app starts."""
    services = Services.build(settings.keyring(), settings.base_url, clock=world.clock)
    for n in range(101):
        last = await services.catalog.create(
            SYSTEM, f"r-many-{n}", world.community_id, RewardFields(name=f"奖品{n}", cost_points=1)
        )
    await services.catalog.restock(SYSTEM, "r-many-stock", last.id, 50)
    return last.id


async def test_a_communitys_101st_reward_is_confirmed_at_the_counter_up_to_the_domains_quantity(
    reward_101: int, client: Client, world: World
) -> None:
    """Issue 18: the counter finds the reward by its id, not in the first 100 of the
    community's list; and it takes as many of it as the domain allows (100), not 20."""
    await give_points(client, world, 100)
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    url = await chosen(client, f"/scan/{token}/redeem", reward_id=reward_101, quantity=30)
    confirm = await client.get(url)
    assert confirm.status_code == 200, confirm.text
    assert text_of(confirm.text, "confirm-what") == "奖品100 × 30"
    fields = {"reward_id": str(reward_101), "quantity": "30"}
    receipt = await submit(client, confirm.text, f"/scan/{token}/redeem", **fields)
    assert receipt.status_code == 200, receipt.text
    assert text_of(receipt.text, "receipt-balance") == "94"  # 24 + 100 - 30


# -- #7: the counter's details ----------------------------------------------------------------


async def test_the_confirm_page_shows_the_total_and_the_balance_after(
    client: Client, world: World
) -> None:
    await give_points(client, world, 100)  # 24 + 100
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    url = await chosen(client, f"/scan/{token}/redeem", reward_id=world.reward_id, quantity=3)
    confirm = await client.get(url)
    assert text_of(confirm.text, "confirm-total") == "90 分"
    assert text_of(confirm.text, "confirm-balance") == "124 分"
    assert text_of(confirm.text, "confirm-balance-after") == "34 分"

    url = await chosen(client, f"/scan/{token}/redeem", reward_id=world.reward_id, quantity=5)
    short = await client.get(url)
    assert text_of(short.text, "confirm-balance-after") == "积分不足：还差 26 分"


async def test_a_receipt_has_the_local_time_the_clerk_and_the_balance(
    client: Client, world: World
) -> None:
    await give_points(client, world, 100)
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    url = await chosen(client, f"/scan/{token}/redeem", reward_id=world.reward_id, quantity=1)
    confirm = await client.get(url)
    fields = {"reward_id": str(world.reward_id), "quantity": "1"}
    receipt = await submit(client, confirm.text, f"/scan/{token}/redeem", **fields)
    assert "兑换凭证" in receipt.text
    assert text_of(receipt.text, "receipt-time") == "2026/11/25 10:00"  # Hangzhou, not UTC
    assert text_of(receipt.text, "receipt-clerk") == "clerk"
    assert text_of(receipt.text, "receipt-balance") == "94"


async def test_a_payment_receipt_is_titled_as_a_payment(client: Client, world: World) -> None:
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    counter = await client.get(f"/q/{token}")
    merchant = re.search(r'<option value="(\d+)">', counter.text)
    assert merchant
    url = await chosen(client, f"/scan/{token}/pay", merchant_id=merchant.group(1), amount=5)
    confirm = await client.get(url)
    fields = {"merchant_id": merchant.group(1), "amount": "5"}
    receipt = await submit(client, confirm.text, f"/scan/{token}/pay", **fields)
    assert "付款凭证" in receipt.text
    assert "兑换凭证" not in receipt.text
    assert text_of(receipt.text, "receipt-time") == "2026/11/25 10:00"
    assert text_of(receipt.text, "receipt-balance") == "19"


# -- #5: refusals with their numbers, and a way back that works ------------------------------


async def test_every_refusal_is_named_with_its_numbers_and_back_goes_to_the_household(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "clerk")
    token = world.demo.card_token
    reward = world.limited_reward_id
    url = await chosen(client, f"/scan/{token}/redeem", reward_id=reward, quantity=20)
    confirm = await client.get(url)
    fields = {"reward_id": str(reward), "quantity": "20"}
    refused = await submit(client, confirm.text, f"/scan/{token}/redeem", **fields)
    assert refused.status_code == 409
    assert "每户每月最多 3 件，本月已兑换 0 件，本次 20 件" in refused.text
    assert "还差 576 分" in refused.text  # 20 × 30 = 600, the balance is 24
    assert f'href="/q/{token}" id="back"' in refused.text


async def test_the_api_names_the_other_refusals_beside_the_first_code(
    client: Client, world: World
) -> None:
    headers = await bearer_of(client, "clerk")
    request = {
        "event_id": "api-twenty",
        "household_token": world.demo.card_token,
        "reward_id": world.limited_reward_id,
        "quantity": 20,
    }
    reply = await client.post("/api/v1/redemptions", json=request, headers=headers)
    assert reply.status_code == 409
    error = reply.json()
    assert error["code"] == "limit_reached"
    assert (error["limit"], error["redeemed"], error["quantity"]) == (3, 0, 20)
    [other] = error["also_refused"]
    assert other["code"] == "insufficient_points"
    assert (other["balance_points"], other["needed_points"], other["short_points"]) == (
        24,
        600,
        576,
    )
    again = await client.post("/api/v1/redemptions", json=request, headers=headers)
    assert again.json() == error  # a retried refusal is refused the same way, every reason kept


async def test_a_closed_point_says_when_it_opens_instead_of_offering_the_button(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "resident")
    page = await client.get(f"/q/{world.closed_point_token}")
    assert 'id="record-dropoff"' not in page.text
    assert "今天 17:30 起可以投放" in text_of(page.text, "dropoff-closed")
    world.clock.advance(hours=10)  # 20:00: today's windows are over
    page = await client.get(f"/q/{world.closed_point_token}")
    assert "明天 07:00 起可以投放" in text_of(page.text, "dropoff-closed")
    world.clock.advance(hours=12)  # 08:00 the next day: open
    page = await client.get(f"/q/{world.closed_point_token}")
    assert 'id="record-dropoff"' in page.text


async def test_a_check_out_that_counts_nothing_does_not_say_it_waits_for_approval(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "volunteer")
    post = await client.get(f"/q/{world.demo.post_token}")
    checked_in = await submit(client, post.text, f"/scan/{world.demo.post_token}/check-in")
    assert checked_in.status_code == 200, checked_in.text
    world.clock.advance(minutes=10)  # under the 15-minute unit: declined at once
    post = await client.get(f"/q/{world.demo.post_token}")
    checked_out = await submit(client, post.text, f"/scan/{world.demo.post_token}/check-out")
    assert checked_out.status_code == 200, checked_out.text
    assert 'id="check-out-declined"' in checked_out.text
    assert "等待审核" not in checked_out.text


async def test_the_volunteer_page_shows_hours_and_minutes(client: Client, world: World) -> None:
    await sign_in_page(client, "volunteer")
    token = world.demo.post_token
    post = await client.get(f"/q/{token}")
    await submit(client, post.text, f"/scan/{token}/check-in")
    world.clock.advance(minutes=16)
    post = await client.get(f"/q/{token}")
    assert hidden(post.text, "event_id").endswith(":check-out")
    await submit(client, post.text, f"/scan/{token}/check-out")
    headers = await bearer_of(client, "coordinator")
    pending = (await client.get("/api/v1/shifts", headers=headers)).json()["items"]
    decision = {"event_id": "approve-15", "shift_ids": [pending[0]["id"]], "outcome": "approve"}
    approved = await client.post("/api/v1/shifts:decide", json=decision, headers=headers)
    assert approved.status_code == 200, approved.text
    home = await client.get("/volunteer")
    assert text_of(home.text, "hours") == "累计服务 0 小时 15 分钟"


# -- #1: the other forms keep their event id in their page's URL -----------------------------


async def test_a_drop_off_sent_again_after_back_is_one_drop_off(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "resident")
    url = await chosen(client, f"/q/{world.demo.point_token}")
    for _ in range(2):  # the page, then Back to it and the same tap: the first answer again
        page = await client.get(url)
        done = await submit(client, page.text, f"/scan/{world.demo.point_token}/dropoff")
        assert done.status_code == 200, done.text
        assert "投放已记录" in done.text  # a second drop-off would be "already recorded"


async def test_a_grade_sent_again_after_back_is_one_grade_per_stream(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "inspector")
    url = await chosen(client, f"/q/{world.demo.card_token}")
    page = await client.get(url)
    point = re.search(r'<option value="([^"]+)"', page.text)
    assert point
    action = f"/scan/{world.demo.card_token}/grade"
    for stream in ("kitchen", "kitchen", "recyclable"):
        page = await client.get(url)  # Back to the same form
        graded = await submit(
            client, page.text, action, point_token=point.group(1), stream=stream, grade="good"
        )
        assert graded.status_code == 200, graded.text
    assert await entries_of_kind(client, world, "inspection") == 2  # kitchen once, recyclable


async def test_an_appeal_form_keeps_its_event_id(client: Client, world: World) -> None:
    await sign_in_page(client, "resident")
    first = await client.get("/home/appeal/1", follow_redirects=False)
    assert first.status_code == 303
    page = await client.get(first.headers["location"])
    again = await client.get(first.headers["location"])
    assert hidden(page.text, "event_id") == hidden(again.text, "event_id")


async def test_an_error_page_never_sends_back_to_the_address_that_failed(
    client: Client, world: World
) -> None:
    await sign_in_page(client, "clerk")
    path = f"/scan/{world.demo.card_token}/redeem"
    failed = await client.get(path, headers={"referer": f"http://testserver{path}?reward_id=x"})
    assert failed.status_code == 400
    assert f'href="{path}"' not in failed.text
    assert 'href="/"' in failed.text


async def test_approving_shifts_twice_or_after_back_credits_once(
    client: Client, world: World
) -> None:
    """Approvals keep a per-page id: a double tap replays; after Back the page no longer
    lists the decided shift, and the old form sent again with a new id is refused."""
    await sign_in_page(client, "volunteer")
    token = world.demo.post_token
    post = await client.get(f"/q/{token}")
    await submit(client, post.text, f"/scan/{token}/check-in")
    world.clock.advance(minutes=60)
    post = await client.get(f"/q/{token}")
    await submit(client, post.text, f"/scan/{token}/check-out")
    client.cookies.clear()
    await sign_in_page(client, "coordinator")
    page = await client.get("/coordinator")
    shift_id = re.search(r'name="shift_ids" value="(\d+)"', page.text)
    assert shift_id
    fields = {"shift_ids": shift_id.group(1), "outcome": "approve"}
    for _ in range(2):  # a double tap: the same page, the same event id
        done = await submit(client, page.text, "/coordinator/shifts", **fields)
        assert done.status_code == 200, done.text
    back = await client.get("/coordinator")
    assert f'name="shift_ids" value="{shift_id.group(1)}"' not in back.text
    stale = await submit(client, page.text, "/coordinator/shifts", event_id="other", **fields)
    assert stale.status_code == 409  # already decided: nothing credited again
    volunteer = await bearer_of(client, "volunteer")
    me = (await client.get("/api/v1/me", headers=volunteer)).json()
    path = f"/api/v1/accounts/{me['volunteer_account_id']}/entries?limit=100"
    entries = (await client.get(path, headers=await admin_headers(client))).json()["items"]
    assert sum(1 for entry in entries if entry["kind"] == "shift") == 1


async def apply_page(client: Client, world: World) -> str:
    """A fresh volunteer application form, as a visitor opens it from a duty post."""
    location = await chosen(client, "/volunteer/apply", community=world.community_id)
    page = await client.get(location)
    assert page.status_code == 200, page.text
    return page.text


def form_action(html: str) -> str:
    match = re.search(r'action="(/volunteer/apply\?event=[0-9a-f-]+)"', html)
    assert match, "the form posts to its own event"
    return match.group(1)


async def test_a_volunteer_form_refused_for_good_comes_back_as_a_new_application(
    client: Client, world: World
) -> None:
    """A duplicate is stored against its event id; the form shown again with the refusal
    carries a new one, so the corrected number is sent as a new application."""
    typed = {
        "community_id": world.community_id,
        "name": "朱秀娟",
        "pin": "582039",
        "affiliation": "none",
    }
    first = await apply_page(client, world)
    applied = await submit(client, first, form_action(first), phone="13812345678", **typed)
    assert applied.status_code == 200, applied.text
    second = await apply_page(client, world)
    refused = await submit(client, second, form_action(second), phone="13812345678", **typed)
    assert refused.status_code == 409, refused.status_code
    assert hidden(refused.text, "event_id") != hidden(second, "event_id")
    assert form_action(refused.text) != form_action(second)
    corrected = await submit(
        client, refused.text, form_action(refused.text), phone="13987654321", **typed
    )
    assert corrected.status_code == 200, corrected.text
    pending = await client.get(
        "/api/v1/volunteers/applications?status=pending", headers=await admin_headers(client)
    )
    assert pending.status_code == 200, pending.text
    assert [item["phone"] for item in pending.json()["items"]] == ["13812345678", "13987654321"]
