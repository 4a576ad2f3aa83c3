"""Every role's pages through HTTP: the same service methods as the API, as forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.api.pages_helpers import Demo, seed, sign_in_page, submit

Client = AsyncTestClient[Any]


@pytest.fixture
async def demo(fresh_db: None, settings: Settings) -> Demo:
    return await seed(settings)


@pytest.fixture
async def client(demo: Demo, settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


async def balance_on_home(client: Client) -> int:
    home = await client.get("/home")
    assert home.status_code == 200, home.status_code
    match = re.search(r'id="balance">[^<]*?([\d,]+)', home.text)
    assert match, "the balance is on the page"
    return int(match.group(1).replace(",", ""))


async def test_the_front_door_sends_strangers_to_sign_in(client: Client) -> None:
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    guarded = await client.get("/home", follow_redirects=False)
    assert guarded.status_code == 303
    assert guarded.headers["location"] == "/login?next=/home"


async def test_a_wrong_password_says_so_in_chinese(client: Client) -> None:
    form = await client.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf
    response = await client.post(
        "/login",
        data={"username": "resident", "password": "wrong-password", "_csrf_token": csrf.group(1)},
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "gl_token" not in client.cookies


async def test_sign_in_returns_to_the_page_asked_for(client: Client, demo: Demo) -> None:
    form = await client.get(f"/login?next=/q/{demo.point_token}")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf
    response = await client.post(
        "/login",
        data={
            "username": "resident",
            "password": "demo-pass-2026",
            "next": f"/q/{demo.point_token}",
            "_csrf_token": csrf.group(1),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/q/{demo.point_token}"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie


async def test_sign_in_never_redirects_off_site(client: Client) -> None:
    form = await client.get("/login?next=//evil.example/x")
    assert "evil.example" not in form.text
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf
    response = await client.post(
        "/login",
        data={
            "username": "resident",
            "password": "demo-pass-2026",
            "next": "https://evil.example/",
            "_csrf_token": csrf.group(1),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/home"


async def test_the_resident_home_shows_balance_card_and_rank(client: Client) -> None:
    await sign_in_page(client, "resident")
    home = await client.get("/home")
    assert home.status_code == 200
    assert "积分余额" in home.text
    assert "<svg" in home.text  # the household card's QR, inline
    assert "纸质积分本结转" in home.text  # an adjustment shows its reason, then its kind
    assert "人工调整" in home.text
    assert home.headers["content-security-policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
    assert home.headers["x-content-type-options"] == "nosniff"
    assert home.headers["referrer-policy"] == "same-origin"


async def test_a_page_of_another_role_is_refused(client: Client) -> None:
    await sign_in_page(client, "resident")
    response = await client.get("/staff")
    assert response.status_code == 403
    assert "您的身份不能访问此页面" in response.text


async def test_english_by_a_switch_that_is_remembered(client: Client) -> None:
    await sign_in_page(client, "resident")
    english = await client.get("/home?lang=en")
    assert "Balance:" in english.text
    assert 'lang="en"' in english.text
    again = await client.get("/home")
    assert "My household" in again.text
    chinese = await client.get("/home?lang=zh_CN")
    assert "我的家庭账户" in chinese.text


async def test_accept_language_picks_english_without_a_cookie(client: Client) -> None:
    page = await client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Username" in page.text
    default = await client.get("/login")
    assert "用户名" in default.text


async def test_large_text_is_a_remembered_toggle(client: Client) -> None:
    page = await client.get("/login?large=1")
    assert '<html lang="zh-CN" class="large">' in page.text
    assert '<html lang="zh-CN" class="large">' in (await client.get("/login")).text
    assert 'class="large"' not in (await client.get("/login?large=0")).text


async def test_a_form_without_its_csrf_token_is_refused(client: Client, demo: Demo) -> None:
    await sign_in_page(client, "resident")
    response = await client.post(f"/scan/{demo.point_token}/dropoff", data={"event_id": "e-1"})
    assert response.status_code == 403
    assert "表单已过期" in response.text


async def test_a_resident_records_a_drop_off_in_one_tap(client: Client, demo: Demo) -> None:
    await sign_in_page(client, "resident")
    page = await client.get(f"/q/{demo.point_token}")
    assert "我已分类投放" in page.text
    response = await submit(client, page.text, f"/scan/{demo.point_token}/dropoff")
    assert response.status_code in (200, 422), (
        response.status_code
    )  # 422: outside the opening hours
    if response.status_code == 200:
        assert "投放已记录" in response.text or "本时段已经记录过了" in response.text
    else:
        assert "开放时段" in response.text


async def test_an_inspector_grades_and_the_resident_sees_it(
    client: Client, demo: Demo, settings: Settings
) -> None:
    await sign_in_page(client, "resident")
    before = await balance_on_home(client)
    await client.post("/logout", data={"_csrf_token": client.cookies["gl_csrf"]})
    await sign_in_page(client, "inspector")
    page = await client.get(f"/q/{demo.card_token}")
    assert page.status_code == 200
    assert "分类评分" in page.text
    assert "优秀" in page.text
    point = re.search(r'<option value="([^"]+)"', page.text)
    assert point
    response = await submit(
        client,
        page.text,
        f"/scan/{demo.card_token}/grade",
        point_token=point.group(1),
        stream="kitchen",
        grade="good",
        reasons=["mixed"],
    )
    assert response.status_code == 200, response.status_code
    assert "评分已记录" in response.text
    again = await submit(
        client,
        page.text,
        f"/scan/{demo.card_token}/grade",
        point_token=point.group(1),
        stream="kitchen",
        grade="good",
        reasons=["mixed"],
    )
    assert again.status_code == 200  # the same event_id: replayed, not credited twice
    client.cookies.clear()
    await sign_in_page(client, "resident")
    assert await balance_on_home(client) == before + 10
    home = await client.get("/home")
    assert "申诉" in home.text


async def test_the_batch_api_needs_the_csrf_header_when_riding_on_the_cookie(
    client: Client, demo: Demo
) -> None:
    await sign_in_page(client, "inspector")
    page = await client.get(f"/q/{demo.card_token}")
    point = re.search(r'<option value="([^"]+)"', page.text)
    assert point
    event = {
        "type": "inspection",
        "event_id": "browser-grade-1",
        "household_token": demo.card_token,
        "point_token": point.group(1),
        "stream": "recyclable",
        "grade": "fair",
    }
    refused = await client.post("/api/v1/events:batch", json={"events": [event]})
    assert refused.status_code == 403
    headers = {"x-csrftoken": client.cookies["gl_csrf"]}
    accepted = await client.post("/api/v1/events:batch", json={"events": [event]}, headers=headers)
    assert accepted.status_code == 200, accepted.status_code
    assert accepted.json()["results"][0]["status"] == 201
    replay = await client.post("/api/v1/events:batch", json={"events": [event]}, headers=headers)
    assert replay.json()["results"][0]["body"] == accepted.json()["results"][0]["body"]


async def test_a_bearer_client_is_never_asked_for_a_csrf_token(client: Client) -> None:
    token = await client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": "demo-pass-2026"}
    )
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    body = {"event_id": "bearer-community-1", "name": "新社区"}
    created = await client.post("/api/v1/communities", json=body, headers=headers)
    assert created.status_code == 201, created.status_code
    await sign_in_page(client, "resident")  # a cookie too: the header still wins
    again = await client.post("/api/v1/communities", json=body, headers=headers)
    assert again.status_code == 201, again.status_code


async def give_points(client: Client, demo: Demo, points: int) -> None:
    """An admin's adjustment through the bearer API (the demo household holds few points)."""
    token = await client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": "demo-pass-2026"}
    )
    body = {
        "event_id": f"gift-{points}",
        "account_id": demo.account_id,
        "amount_points": points,
        "reason": "test",
    }
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    response = await client.post("/api/v1/adjustments", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def test_a_clerk_redeems_a_reward_and_a_resent_form_charges_once(
    client: Client, demo: Demo
) -> None:
    await give_points(client, demo, 500)
    await sign_in_page(client, "clerk")
    counter = await client.get(f"/q/{demo.card_token}")
    assert counter.status_code == 200
    assert "选择兑换物品" in counter.text
    reward = re.search(r'name="reward_id" value="(\d+)"', counter.text)
    assert reward
    confirm = await client.get(
        f"/scan/{demo.card_token}/redeem", params={"reward_id": reward.group(1), "quantity": 1}
    )
    assert confirm.status_code == 200, confirm.status_code
    fields = {"reward_id": reward.group(1), "quantity": "1"}
    receipt = await submit(client, confirm.text, f"/scan/{demo.card_token}/redeem", **fields)
    assert receipt.status_code == 200, receipt.status_code
    assert "兑换凭证" in receipt.text
    resent = await submit(client, confirm.text, f"/scan/{demo.card_token}/redeem", **fields)
    assert resent.status_code == 200
    balance = re.search(r'id="receipt-balance">([\d,]+)<', receipt.text)
    balance_again = re.search(r'id="receipt-balance">([\d,]+)<', resent.text)
    assert balance
    assert balance_again
    assert balance.group(1) == balance_again.group(1)


async def test_a_clerk_takes_points_as_payment(client: Client, demo: Demo) -> None:
    await sign_in_page(client, "clerk")
    counter = await client.get(f"/q/{demo.card_token}")
    merchant = re.search(r'<option value="(\d+)">', counter.text)
    assert merchant
    confirm = await client.get(
        f"/scan/{demo.card_token}/pay", params={"merchant_id": merchant.group(1), "amount": 5}
    )
    assert confirm.status_code == 200, confirm.status_code
    fields = {"merchant_id": merchant.group(1), "amount": "5"}
    receipt = await submit(client, confirm.text, f"/scan/{demo.card_token}/pay", **fields)
    assert receipt.status_code == 200, receipt.status_code
    assert "支付单号" in receipt.text


async def test_a_volunteer_checks_in_and_out_at_a_post(client: Client, demo: Demo) -> None:
    await sign_in_page(client, "volunteer")
    post = await client.get(f"/q/{demo.post_token}")
    assert "签到" in post.text
    checked_in = await submit(client, post.text, f"/scan/{demo.post_token}/check-in")
    assert checked_in.status_code == 200, checked_in.status_code
    post = await client.get(f"/q/{demo.post_token}")
    assert 'id="check-out"' in post.text
    checked_out = await submit(client, post.text, f"/scan/{demo.post_token}/check-out")
    assert checked_out.status_code == 200, checked_out.status_code
    home = await client.get("/volunteer")
    assert "累计服务" in home.text
    assert "/certificate" in home.text


async def test_a_stranger_scanning_a_code_is_offered_sign_in(client: Client, demo: Demo) -> None:
    page = await client.get(f"/q/{demo.point_token}")
    assert page.status_code == 200
    assert f'href="/login?next=/q/{demo.point_token}"' in page.text


async def test_the_coordinator_page_lists_and_decides_appeals(client: Client, demo: Demo) -> None:
    await sign_in_page(client, "inspector")
    page = await client.get(f"/q/{demo.card_token}")
    point = re.search(r'<option value="([^"]+)"', page.text)
    assert point
    fields = {"point_token": point.group(1), "stream": "other", "grade": "poor"}
    await submit(client, page.text, f"/scan/{demo.card_token}/grade", **fields)
    client.cookies.clear()
    await sign_in_page(client, "resident")
    home = await client.get("/home")
    link = re.search(r'href="(/home/appeal/\d+)"', home.text)
    assert link
    form = await client.get(link.group(1))
    sent = await submit(client, form.text, link.group(1), reason="分类是对的")
    assert sent.status_code == 200, sent.status_code
    client.cookies.clear()
    await sign_in_page(client, "coordinator")
    coordinator = await client.get("/coordinator")
    assert "分类是对的" in coordinator.text
    action = re.search(r'action="(/coordinator/appeals/\d+)"', coordinator.text)
    assert action
    event_id = re.search(
        rf'action="{action.group(1)}"[^>]*>\s*<input type="hidden" name="_csrf_token" '
        r'value="[^"]+"[^>]*>\s*<input type="hidden" name="event_id" value="([^"]+)"',
        coordinator.text,
    )
    assert event_id
    decided = await submit(
        client,
        coordinator.text,
        action.group(1),
        event_id=event_id.group(1),
        outcome="upheld",
        new_grade="good",
    )
    assert decided.status_code == 200, decided.status_code
    assert "申诉成立" in decided.text


async def test_the_staff_dashboard_has_charts_lists_and_sheets(client: Client) -> None:
    await sign_in_page(client, "admin")
    page = await client.get("/staff")
    assert page.status_code == 200, page.status_code
    assert "红黑榜" in page.text
    assert "/api/v1/qr/sheet?compound_id=" in page.text
    chart = re.search(r'src="(/staff/charts/trends\.svg\?[^"]+)"', page.text)
    assert chart
    svg = await client.get(chart.group(1).replace("&amp;", "&"))
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "正确率" in svg.text
    verify = await client.get("/staff/verify")
    assert "全部校验通过" in verify.text


async def test_piccolo_admin_is_for_signed_in_staff_with_the_ledger_read_only(
    client: Client,
) -> None:
    anonymous = await client.get("/admin/", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=/admin/")
    await sign_in_page(client, "resident")
    assert (await client.get("/admin/", follow_redirects=False)).status_code == 403
    client.cookies.clear()

    await sign_in_page(client, "admin")
    assert "id" in client.cookies  # piccolo-admin's session, opened by the pages' sign-in
    assert (await client.get("/admin", follow_redirects=False)).status_code == 308
    spa = await client.get("/admin/")
    assert spa.status_code == 200
    tables = await client.get("/admin/api/tables/")
    assert tables.status_code == 200, tables.status_code
    assert "entry" in tables.json()
    assert "app_user" not in tables.json()
    entries = await client.get("/admin/api/tables/entry/")
    assert entries.status_code == 200
    csrf = {"X-CSRFToken": client.cookies.get("csrftoken", "")}
    refused = await client.patch("/admin/api/tables/entry/1/", json={"memo": "x"}, headers=csrf)
    assert refused.status_code == 405, refused.status_code
    fixed = await client.patch("/admin/api/tables/household/1/", json={"account": 2}, headers=csrf)
    assert fixed.status_code == 422, fixed.status_code
    renamed = await client.patch(
        "/admin/api/tables/compound/1/", json={"name": "信义坊一期"}, headers=csrf
    )
    assert renamed.status_code == 200, renamed.text
    await client.post("/logout", data={"_csrf_token": client.cookies["gl_csrf"]})
    assert "id" not in client.cookies
