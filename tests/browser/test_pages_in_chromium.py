"""The pages in headless Chromium on a phone-sized screen, against a running server.

Screenshots of every page land in screenshots/ (git-ignored; the README names it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, shot, sign_in

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Codes:
    card: str
    other_card: str
    point: str
    post: str
    account_id: int
    other_account_id: int


@pytest.fixture(scope="module")
def codes(server: Server) -> Codes:
    """The resident's household card, a neighbour's card, and their compound's point and post."""
    resident = server.api("GET", "/api/v1/me", token=server.token("resident"))
    admin = server.token("admin")
    households = server.api("GET", "/api/v1/households?limit=5", token=admin)["items"]
    own = next(h for h in households if h["id"] == resident["household_id"])
    neighbour = next(h for h in households if h["id"] != own["id"])
    compound = own["compound_id"]
    point = server.api("GET", f"/api/v1/points?compound_id={compound}", token=admin)["items"][0]
    post = server.api("GET", f"/api/v1/posts?compound_id={compound}", token=admin)["items"][0]
    return Codes(
        own["token"],
        neighbour["token"],
        point["token"],
        post["token"],
        own["account_id"],
        neighbour["account_id"],
    )


def balance(server: Server, account_id: int) -> int:
    account = server.api("GET", f"/api/v1/accounts/{account_id}", token=server.token("admin"))
    return int(account["balance_points"])


def balance_on_page(page: Any) -> int:
    text = page.locator("#balance").inner_text()
    return int(re.sub(r"[^\d]", "", text))


def test_an_inspector_grades_and_the_resident_sees_the_new_balance(
    new_phone: Any, server: Server, codes: Codes
) -> None:
    resident = new_phone()
    sign_in(resident, "resident")
    expect(resident).to_have_url(re.compile(r"/home$"))
    before = balance_on_page(resident)

    inspector = new_phone()
    sign_in(inspector, "inspector")
    shot(inspector, "inspector-home")
    inspector.goto(f"/q/{codes.card}")
    inspector.locator("#stream").select_option("kitchen")
    inspector.get_by_role("button", name="优秀").click()
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    expect(inspector.locator("#outbox-log li").first).to_contain_text("已上传")
    shot(inspector, "inspector-grade")

    resident.reload()
    expect(resident.locator("#balance")).to_contain_text(f"{before + 10:,}")
    expect(resident.locator("#grades")).to_contain_text("优秀")
    shot(resident, "resident-home")
    assert resident.problems == []
    assert inspector.problems == []


def test_grades_made_offline_wait_and_sync_once(
    new_phone: Any, server: Server, codes: Codes
) -> None:
    before = balance(server, codes.other_account_id)
    inspector = new_phone()
    sign_in(inspector, "inspector")
    inspector.goto(f"/q/{codes.other_card}")
    inspector.context.set_offline(True)
    inspector.locator("#stream").select_option("recyclable")
    inspector.get_by_role("button", name="优秀").click()
    expect(inspector.locator("#outbox-pending")).to_have_text("1")
    expect(inspector.locator("#network-state")).to_have_text("离线")
    inspector.locator("#outbox-send").click()  # still offline: nothing leaves the phone
    expect(inspector.locator("#outbox-pending")).to_have_text("1")
    shot(inspector, "inspector-offline-queue")
    queued = inspector.evaluate("localStorage.getItem('greenledger.outbox.v1')")
    assert balance(server, codes.other_account_id) == before

    inspector.context.set_offline(False)  # the 'online' event sends the queue
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    expect(inspector.locator("#outbox-log li").first).to_contain_text("已上传")
    assert balance(server, codes.other_account_id) == before + 10

    # The same grade sent again (say the answer was lost on the way): replayed, not credited.
    inspector.evaluate("q => localStorage.setItem('greenledger.outbox.v1', q)", queued)
    inspector.reload()
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    assert json.loads(queued)[0]["event"]["type"] == "inspection"
    assert balance(server, codes.other_account_id) == before + 10
    assert [p for p in inspector.problems if "ERR_INTERNET_DISCONNECTED" not in p] == []


def test_a_clerk_redeems_a_reward_with_a_receipt(
    new_phone: Any, server: Server, codes: Codes
) -> None:
    gift = {
        "event_id": "browser-gift-1",
        "account_id": codes.account_id,
        "amount_points": 200,
        "reason": "浏览器测试",
    }
    server.api("POST", "/api/v1/adjustments", gift, token=server.token("admin"))
    before = balance(server, codes.account_id)
    clerk = new_phone()
    sign_in(clerk, "clerk")
    shot(clerk, "clerk-counter-home")
    clerk.goto(f"/q/{codes.card}")
    expect(clerk.locator("#balance")).to_contain_text(f"{before:,}")
    shot(clerk, "clerk-counter")
    clerk.locator("#rewards li").first.get_by_role("button", name="选择").click()
    expect(clerk.locator("#confirm-what")).to_contain_text("× 1")
    shot(clerk, "clerk-confirm")
    clerk.locator("#confirm").click()
    expect(clerk.locator("#receipt")).to_contain_text("兑换凭证")
    spent = int(clerk.locator("#receipt-points").inner_text().replace(",", ""))
    shot(clerk, "clerk-receipt")
    clerk.reload()  # the browser re-sends the form: the same event_id replays the receipt
    expect(clerk.locator("#receipt")).to_contain_text("兑换凭证")
    assert balance(server, codes.account_id) == before - spent
    assert clerk.problems == []


def test_chinese_and_english_pages_render_without_tofu(new_phone: Any) -> None:
    page = new_phone()
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("登录")
    assert page.evaluate(_GLYPHS_DIFFER, "绿账"), "CJK characters render as identical boxes"
    shot(page, "login-zh")
    page.goto("/login?lang=en")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "login-en")
    page.goto("/login?lang=zh_CN&large=1")
    expect(page.locator("html")).to_have_class("large")
    shot(page, "login-zh-large")
    assert page.problems == []


# Two different CJK characters drawn the same means both are the missing-glyph box (tofu).
_GLYPHS_DIFFER = """text => {
  const draw = ch => { const c = document.createElement('canvas'); c.width = c.height = 40;
    const g = c.getContext('2d'); g.font = '32px ' + getComputedStyle(document.body).fontFamily;
    g.fillText(ch, 2, 34); return c.toDataURL(); };
  return draw(text[0]) !== draw(text[1]);
}"""


def test_every_role_has_its_pages(new_phone: Any, server: Server, codes: Codes) -> None:
    """A tour with screenshots: volunteer, coordinator, staff, and the code pages."""
    stranger = new_phone()
    stranger.goto(f"/q/{codes.point}")
    expect(stranger.locator("#sign-in")).to_be_visible()
    shot(stranger, "code-signed-out")

    volunteer = new_phone()
    sign_in(volunteer, "volunteer", f"/q/{codes.post}")
    volunteer.get_by_role("button", name="签到").click()
    expect(volunteer.locator("#result")).to_contain_text("签到")
    volunteer.goto("/volunteer")
    expect(volunteer.locator("#hours")).to_contain_text("小时")
    shot(volunteer, "volunteer-home")

    resident = new_phone()
    sign_in(resident, "resident", f"/q/{codes.point}")
    shot(resident, "resident-dropoff")
    resident.goto("/home")
    resident.locator("#grades a").first.click()
    resident.locator("textarea").fill("分类是对的")
    shot(resident, "resident-appeal")
    resident.get_by_role("button", name="提交申诉").click()
    expect(resident.locator("#result")).to_contain_text("申诉已提交")
    resident.goto("/home?lang=en")
    expect(resident.locator("h1")).to_have_text("My household")
    expect(resident.locator("#grades")).to_contain_text("Appeal:")
    shot(resident, "resident-home-en")

    coordinator = new_phone()
    sign_in(coordinator, "coordinator")
    expect(coordinator.locator("body")).to_contain_text("分类是对的")
    shot(coordinator, "coordinator-home")

    staff = new_phone()
    staff.set_viewport_size({"width": 1024, "height": 900})
    sign_in(staff, "admin")
    expect(staff.locator("#red-list")).to_be_visible()
    staff.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(staff, "staff-dashboard")
    staff.goto("/staff/verify")
    expect(staff.locator("#verify-status")).to_have_text("全部校验通过")
    shot(staff, "staff-verify")
    for page in (stranger, volunteer, resident, coordinator, staff):
        assert page.problems == []
