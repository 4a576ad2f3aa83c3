"""A resident joins their household from its card's page on a phone, in Chromium, and lands
on the home page with the balance (issue 15)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, shot

pytestmark = pytest.mark.browser

PHONE_NUMBER = "13912345678"
PIN = "284913"


def test_a_resident_joins_from_the_card_page_and_sees_the_balance(
    new_phone: Any, server: Server
) -> None:
    admin = server.token("admin")
    resident = server.api("GET", "/api/v1/me", token=server.token("resident"))
    households = server.api("GET", "/api/v1/households?limit=5", token=admin)["items"]
    household = next(h for h in households if h["id"] != resident["household_id"])
    code = server.api(
        "POST",
        f"/api/v1/households/{household['id']}/join-code:reset",
        {"event_id": "browser-join-code-1"},
        token=admin,
    )["join_code"]
    server.api(
        "POST",
        "/api/v1/adjustments",
        {
            "event_id": "browser-join-gift-1",
            "account_id": household["account_id"],
            "amount_points": 30,
            "reason": "纸质积分本结转",
        },
        token=admin,
    )
    balance = server.api("GET", f"/api/v1/accounts/{household['account_id']}", token=admin)[
        "balance_points"
    ]
    assert balance >= 30

    page = new_phone()
    page.goto(f"/q/{household['token']}")
    page.locator("#join-household").click()
    expect(page.locator("#join-form")).to_be_visible()
    page.locator("#join_code").fill(code)
    page.locator("#phone").fill(PHONE_NUMBER)
    page.locator("#pin").fill(PIN)
    page.locator("#pin_again").fill(PIN)
    page.locator("#display_name").fill("王阿姨")
    shot(page, "join-form")
    page.locator("#join").click()

    expect(page).to_have_url(re.compile(r"/home"))
    expect(page.locator("#balance")).to_be_visible()
    shown = int(re.sub(r"[^\d]", "", page.locator("#balance").inner_text()))
    assert shown == balance
    expect(page.locator("#members")).to_contain_text("王阿姨")
    shot(page, "joined-home")
    assert page.problems == []

    signed_in = server.api(
        "POST", "/api/v1/auth/token", {"username": PHONE_NUMBER, "password": PIN}
    )
    assert signed_in["role"] == "resident"
