"""The large-text switch is a real control (a 44 px target, kept after a reload), long unbroken
names wrap instead of widening the page, and the 申诉 button stays on one line: in Chromium on a
phone-sized screen."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, PHONE, Server, shot, sign_in

pytestmark = pytest.mark.browser

TARGET_PX_MIN = 44
# The page is exactly as wide as the screen when nothing overflows.
_PAGE_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture(scope="module")
def long_named_resident(server: Server) -> str:
    """A second login of the demo household whose name has no space to break at, and a reward
    of a long unbroken name on the household's home page; the household gets a grade to
    appeal. Returns the login's name."""
    admin = server.token("admin")
    me = server.api("GET", "/api/v1/me", token=server.token("resident"))
    households = server.api("GET", "/api/v1/households?limit=5", token=admin)["items"]
    own = next(h for h in households if h["id"] == me["household_id"])
    account = server.api("GET", f"/api/v1/accounts/{own['account_id']}", token=admin)
    compound = own["compound_id"]
    point = server.api("GET", f"/api/v1/points?compound_id={compound}", token=admin)["items"][0]
    username = "resident" + "x" * 56
    server.api(
        "POST",
        "/api/v1/users",
        {
            "event_id": f"long-user-{uuid.uuid4().hex}",
            "username": username,
            "password": DEMO_PASSWORD,
            "role": "resident",
            "household_id": me["household_id"],
        },
        token=admin,
    )
    server.api(
        "POST",
        "/api/v1/rewards",
        {
            "event_id": f"long-reward-{uuid.uuid4().hex}",
            "community_id": account["community_id"],
            "name": "Recycledpaperandcardboardnotebookset" * 2,
            "cost_points": 1,
            "stock": 5,
        },
        token=admin,
    )
    server.api(
        "POST",
        "/api/v1/inspections",
        {
            "event_id": f"long-grade-{uuid.uuid4().hex}",
            "household_token": own["token"],
            "point_token": point["token"],
            "stream": "other",
            "grade": "fair",
            "reasons": ["mixed", "not_bagged"],
        },
        token=server.token("inspector"),
    )
    return username


def test_the_large_text_switch_is_a_44px_control_and_is_remembered(new_phone: Any) -> None:
    page = new_phone()
    sign_in(page, "resident")
    page.goto("/home")
    switch = page.get_by_role("button", name="大字模式")
    expect(switch).to_have_attribute("aria-pressed", "false")
    box = switch.bounding_box()
    assert box is not None
    assert box["height"] >= TARGET_PX_MIN, box
    assert box["width"] >= TARGET_PX_MIN, box
    switch.click()
    expect(page.locator("html")).to_have_class("large")
    page.goto("/home")  # a fresh load without the query: the cookie keeps it
    expect(page.locator("html")).to_have_class("large")
    page.reload()
    expect(page.locator("html")).to_have_class("large")
    switch = page.get_by_role("button", name="大字模式")
    expect(switch).to_have_attribute("aria-pressed", "true")
    box = switch.bounding_box()
    assert box is not None
    assert box["height"] >= TARGET_PX_MIN, box
    shot(page, "resident-home-large")
    switch.click()  # and off again
    expect(page.locator("html")).not_to_have_class("large")
    page.reload()
    expect(page.locator("html")).not_to_have_class("large")
    assert page.problems == []


@pytest.mark.parametrize("large", ["0", "1"], ids=["normal", "large"])
def test_long_names_wrap_and_the_appeal_button_keeps_one_line(
    new_phone: Any, long_named_resident: str, large: str
) -> None:
    page = new_phone()
    sign_in(page, long_named_resident)
    page.goto(f"/home?large={large}")
    expect(page.locator(".who")).to_contain_text(long_named_resident)
    expect(page.locator("#rewards")).to_contain_text("Recycledpaper")
    shot(page, f"resident-home-long-names-{'large' if large == '1' else 'normal'}")
    assert page.evaluate(_PAGE_WIDTH) <= PHONE["width"]
    for selector in (".who span", "#rewards li .grow"):
        for element in page.locator(selector).all():
            box = element.bounding_box()
            assert box is not None
            assert box["x"] >= 0, selector
            assert box["x"] + box["width"] <= PHONE["width"] + 0.5, selector
    appeal = page.locator("#grades a.button").first
    expect(appeal).to_have_text("申诉")
    # One line each (wider than tall, less than two lines high): the appeal button, the
    # amounts beside long names, and the sign-out button beside the long login.
    for element in [appeal, page.locator(".who button"), *page.locator("#rewards li strong").all()]:
        box = element.bounding_box()
        assert box is not None
        line = element.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
        assert box["width"] > box["height"], (element, box)
        assert box["height"] < 2 * line, (element, box, line)
    assert page.problems == []
