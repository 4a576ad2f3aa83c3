"""Issue 14, item 5: a clerk weighs a household's recyclables on a phone, from scanning the
card (the camera opens its `/q/<token>` address) to the points, and a reload of the answer
credits nothing twice. Counted in the server's database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, sign_in
from tests.browser.test_resends_in_chromium import _count, _households

pytestmark = pytest.mark.browser


def weighins(server: Server, household_id: int) -> int:
    return _count(server, "SELECT count(*) FROM weighin WHERE household = ?", household_id)


def test_a_clerk_weighs_recyclables_from_the_scanned_card(new_phone: Any, server: Server) -> None:
    household = _households(server)[-2]
    before = weighins(server, household.household_id)
    clerk = new_phone()
    sign_in(clerk, "clerk")
    clerk.goto(f"/q/{household.token}")  # what scanning the card opens
    balance = int(re.sub(r"\D", "", clerk.locator("#balance").inner_text()))
    clerk.locator("#weigh").click()
    expect(clerk).to_have_url(re.compile(r"/weigh\?event="))
    clerk.get_by_label("塑料").check()
    clerk.locator("#kilograms").fill("1.5")
    clerk.locator("#confirm").click()
    expect(clerk.locator("#points")).to_be_visible()
    points = int(re.sub(r"\D", "", clerk.locator("#points").inner_text()))
    assert points > 0
    after = int(re.sub(r"\D", "", clerk.locator("#balance").inner_text()))
    assert after == balance + points
    assert weighins(server, household.household_id) == before + 1

    clerk.reload()  # the browser resends the form: the same answer, nothing credited twice
    expect(clerk.locator("#again")).to_be_visible()
    assert weighins(server, household.household_id) == before + 1
