"""What a browser resends is one event (issue 13 #1, #2): Back and confirm again at the
counter, a reload of the receipt, a double tap on a grade. Counted in the server's database."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, sign_in

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Household:
    household_id: int
    account_id: int
    token: str


def _households(server: Server) -> list[Household]:
    """Households the clerk and the inspector both serve, but the resident's own."""
    scopes = [
        server.api("GET", "/api/v1/me", token=server.token(u)) for u in ("clerk", "inspector")
    ]
    served = set(scopes[0]["compound_ids"]) & set(scopes[1]["compound_ids"])
    own = server.api("GET", "/api/v1/me", token=server.token("resident"))["household_id"]
    admin = server.token("admin")
    found: list[Household] = []
    for compound in sorted(served):
        path = f"/api/v1/households?limit=50&compound_id={compound}"
        for h in server.api("GET", path, token=admin)["items"]:
            if h["id"] != own:
                found.append(Household(h["id"], h["account_id"], h["token"]))
    return found


def _count(server: Server, sql: str, *args: Any) -> int:
    """Read-only, straight from the server's SQLite file: what was really recorded."""
    path = server.env["GREENLEDGER_DATABASE_URL"]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute(sql, args).fetchone()[0])


def redemptions(server: Server, household_id: int) -> int:
    return _count(server, "SELECT count(*) FROM redemption WHERE household = ?", household_id)


def inspections(server: Server, household_id: int, stream: str) -> int:
    return _count(
        server,
        "SELECT count(*) FROM inspection WHERE household = ? AND stream = ?",
        household_id,
        stream,
    )


def test_back_then_confirm_at_the_counter_charges_once(new_phone: Any, server: Server) -> None:
    household = _households(server)[-1]
    gift = {
        "event_id": "browser-gift-back",
        "account_id": household.account_id,
        "amount_points": 500,
        "reason": "浏览器测试",
    }
    server.api("POST", "/api/v1/adjustments", gift, token=server.token("admin"))
    before = redemptions(server, household.household_id)
    clerk = new_phone()
    sign_in(clerk, "clerk")
    clerk.goto(f"/q/{household.token}")
    clerk.locator("#rewards li").first.get_by_role("button", name="选择").click()
    expect(clerk).to_have_url(re.compile(r"[?&]event="))
    clerk.locator("#confirm").click()
    expect(clerk.locator("#receipt")).to_be_visible()
    number = clerk.locator("#receipt-number").inner_text()
    assert redemptions(server, household.household_id) == before + 1

    clerk.go_back()  # the confirm page again: the same choice, so the same event id
    expect(clerk.locator("#already-done")).to_be_visible()
    clerk.locator("#confirm").click()
    expect(clerk.locator("#receipt-again")).to_be_visible()
    expect(clerk.locator("#receipt-number")).to_have_text(number)
    assert redemptions(server, household.household_id) == before + 1

    clerk.reload()  # the receipt's form sent once more
    expect(clerk.locator("#receipt-number")).to_have_text(number)
    assert redemptions(server, household.household_id) == before + 1
    assert clerk.problems == []


def test_a_double_tap_on_a_grade_is_one_inspection(new_phone: Any, server: Server) -> None:
    household = _households(server)[0]
    inspector = new_phone()
    sign_in(inspector, "inspector")
    inspector.goto(f"/q/{household.token}")
    inspector.locator("#stream").select_option("hazardous")
    before = inspections(server, household.household_id, "hazardous")
    inspector.locator("#grade-good").dblclick()
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    expect(inspector.locator("#outbox-log")).to_contain_text("已上传")
    expect(inspector.locator("#outbox-log")).to_contain_text("该类别已评过分")
    assert inspections(server, household.household_id, "hazardous") == before + 1

    inspector.reload()  # the same opening of the card: sent again, the grade is replayed
    inspector.locator("#stream").select_option("hazardous")
    inspector.locator("#grade-good").click()
    expect(inspector.locator("#outbox-log li")).to_have_count(3)
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    assert inspections(server, household.household_id, "hazardous") == before + 1
    assert inspector.problems == []
