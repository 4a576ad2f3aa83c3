"""Every role's pages in Chinese and in English, screenshotted side by side, and the error
pages a person meets (an unknown address, an overlong code) as pages with a way home.

Screenshots land in screenshots/ as `<page>-zh.png` and `<page>-en.png` (git-ignored).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, shot, sign_in

pytestmark = pytest.mark.browser
LONG_CODE = "x" * 101


def both(page: Any, name: str, path: str) -> None:
    """The page in Chinese then in English, a screenshot of each; the language is left
    Chinese for the next page."""
    joiner = "&" if "?" in path else "?"
    for locale, tag in (("zh_CN", "zh"), ("en", "en")):
        page.goto(f"{path}{joiner}lang={locale}")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if tag == "zh" else "en")
        shot(page, f"{name}-{tag}")
    page.goto(f"{path}{joiner}lang=zh_CN")


def problems(page: Any) -> list[str]:
    """Console errors, except the one Chromium logs for every error page it is shown."""
    return [p for p in page.problems if "the server responded with a status of 4" not in p]


def codes(server: Server) -> dict[str, Any]:
    resident = server.api("GET", "/api/v1/me", token=server.token("resident"))
    admin = server.token("admin")
    households = server.api("GET", "/api/v1/households?limit=5", token=admin)["items"]
    own = next(h for h in households if h["id"] == resident["household_id"])
    compound = own["compound_id"]
    point = server.api("GET", f"/api/v1/points?compound_id={compound}", token=admin)["items"][0]
    post = server.api("GET", f"/api/v1/posts?compound_id={compound}", token=admin)["items"][0]
    return {"card": own["token"], "point": point["token"], "post": post["token"]}


def test_an_unknown_address_is_a_page_with_a_way_home(new_phone: Any) -> None:
    page = new_phone()
    response = page.goto("/no/such/page")
    assert response is not None
    assert response.status == 404
    expect(page.locator("#error-message")).to_have_text("没有这个页面。")
    shot(page, "error-404-zh")
    page.locator("#home").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert problems(page) == []


def test_an_overlong_typed_code_is_a_404_page_in_english(new_phone: Any) -> None:
    page = new_phone("en-GB")
    sign_in(page, "inspector")
    page.locator('input[name="code"]').fill(LONG_CODE)
    page.locator("form.typed-code button").click()
    expect(page.locator("#error-message")).to_have_text("There is no such page.")
    expect(page.locator(".who")).to_contain_text("inspector")  # still signed in, it says so
    shot(page, "error-404-code-en")
    response = page.goto(f"/q/{LONG_CODE}")
    assert response is not None
    assert response.status == 404
    assert "application/json" not in response.headers["content-type"]
    page.locator("#home").click()
    expect(page).to_have_url(re.compile(r"/inspector$"))
    assert problems(page) == []


def test_every_role_s_pages_in_both_languages(new_phone: Any, server: Server) -> None:
    """About 25 pages, each twice: the tour of test_pages_in_chromium.py takes the form
    answers in Chinese; tests/api/test_pages_every_language.py checks every text."""
    code = codes(server)
    stranger = new_phone()
    both(stranger, "login", "/login")
    both(stranger, "code-signed-out", f"/q/{code['point']}")
    both(stranger, "code-invalid", "/q/hello")
    both(stranger, "error-404", "/no/such/page")
    both(stranger, "error-405", "/coordinator/shifts")

    resident = new_phone()
    sign_in(resident, "resident")
    both(resident, "resident-home", "/home")
    appeal = resident.locator('a[href^="/home/appeal/"]')
    if appeal.count():  # a grade this household may still appeal
        both(resident, "resident-appeal", appeal.first.get_attribute("href"))
    both(resident, "resident-dropoff", f"/q/{code['point']}")
    both(resident, "error-403", "/staff")

    inspector = new_phone()
    sign_in(inspector, "inspector")
    both(inspector, "inspector-home", "/inspector")
    both(inspector, "inspector-point", f"/q/{code['point']}")
    both(inspector, "inspector-grade", f"/q/{code['card']}")

    volunteer = new_phone()
    sign_in(volunteer, "volunteer")
    both(volunteer, "volunteer-home", "/volunteer")
    certificate = volunteer.locator('a[href$="/certificate"]').first.get_attribute("href")
    both(volunteer, "volunteer-certificate", certificate)
    both(volunteer, "volunteer-post", f"/q/{code['post']}")

    clerk = new_phone()
    sign_in(clerk, "clerk")
    both(clerk, "clerk-counter-home", "/counter")
    both(clerk, "clerk-counter", f"/q/{code['card']}")
    reward = clerk.locator('#rewards input[name="reward_id"]').first.get_attribute("value")
    both(clerk, "clerk-confirm", f"/scan/{code['card']}/redeem?reward_id={reward}&quantity=1")

    coordinator = new_phone()
    sign_in(coordinator, "coordinator")
    both(coordinator, "coordinator-home", "/coordinator")

    staff = new_phone()
    staff.set_viewport_size({"width": 1024, "height": 900})
    sign_in(staff, "admin")
    both(staff, "staff-dashboard", "/staff")
    sheet = staff.locator('a[href^="/api/v1/qr/sheet"]').first.get_attribute("href")
    both(staff, "staff-qr-sheet", sheet)
    both(staff, "staff-verify", "/staff/verify")
    for page in (stranger, resident, inspector, volunteer, clerk, coordinator, staff):
        assert problems(page) == []
