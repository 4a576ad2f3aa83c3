"""A shop on the demo's shop street (issue 15, item 4), graded from the inspector's phone: the
card page names the shop, and the shop tops its street's board under its name with its kind's
points (the demo's rules: 20 for a shop's good grade, 10 for a household's)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, shot, sign_in

pytestmark = pytest.mark.browser


def test_an_inspector_grades_a_shop_and_it_tops_its_street_s_board(
    new_phone: Any, server: Server
) -> None:
    admin = server.token("admin")
    compounds = server.api("GET", "/api/v1/compounds?limit=100", token=admin)["items"]
    street = next(c for c in compounds if c["kind"] == "shop_street")
    shops = server.api("GET", f"/api/v1/households?compound_id={street['id']}", token=admin)
    shop = shops["items"][0]
    assert shop["kind"] == "shop"

    inspector = new_phone()
    sign_in(inspector, "inspector")
    inspector.goto(f"/q/{shop['token']}")
    expect(inspector.locator("h1")).to_have_text(shop["name"])
    expect(inspector.locator("main")).not_to_contain_text(re.compile("幢|单元"))
    inspector.locator("#stream").select_option("kitchen")
    inspector.get_by_role("button", name="优秀").click()
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    expect(inspector.locator("#outbox-log li").first).to_contain_text("已上传")
    shot(inspector, "inspector-grade-shop")
    assert inspector.problems == []

    board = server.api(
        "GET", f"/api/v1/leaderboards?board=households&period=all&scope_id={street['id']}"
    )
    assert (board["items"][0]["label"], board["items"][0]["value"]) == (shop["name"], 20)
