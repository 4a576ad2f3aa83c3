"""Issue 15, item 5 in Chromium, two phones: a resident scans a collection point's code and
taps "I dropped off"; the inspector's page for that point, open all along, shows them in its
queue without a reload; one tap grades them; the resident's page shows the new balance."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, Server, shot, sign_in

pytestmark = pytest.mark.browser


def _setup(server: Server) -> dict[str, Any]:
    """A point open all day in the inspector's first compound, and a household there whose
    resident signs in with the demo password."""
    admin = server.token("admin")
    inspector = server.api("GET", "/api/v1/me", token=server.token("inspector"))
    compound = min(inspector["compound_ids"])
    tag = uuid.uuid4().hex[:8]
    point = server.api(
        "POST",
        "/api/v1/points",
        {"event_id": f"queue-point-{tag}", "compound_id": compound, "name": f"排队点{tag[:4]}"},
        token=admin,
    )
    household = server.api(
        "POST",
        "/api/v1/households",
        {
            "event_id": f"queue-household-{tag}",
            "compound_id": compound,
            "building": "97",
            "unit": "1",
            "room": tag[:3],
        },
        token=admin,
    )
    username = f"queue-resident-{tag}"
    user = {
        "event_id": f"queue-user-{tag}",
        "username": username,
        "password": DEMO_PASSWORD,
        "role": "resident",
        "household_id": household["id"],
    }
    server.api("POST", "/api/v1/users", user, token=admin)
    return {"point": point, "household": household, "resident": username, "room": tag[:3]}


def test_a_residents_drop_off_reaches_the_inspectors_queue_and_is_graded_with_one_tap(
    server: Server, new_phone: Any
) -> None:
    world = _setup(server)
    point_page = f"/q/{world['point']['token']}"
    account_id = world["household"]["account_id"]
    admin = server.token("admin")
    before = server.api("GET", f"/api/v1/accounts/{account_id}", token=admin)["balance_points"]

    inspector = new_phone()
    sign_in(inspector, "inspector")
    inspector.goto(point_page)
    queue = inspector.locator("#queue")
    expect(inspector.locator("#queue-empty")).to_be_visible()  # the first answer came
    inspector.evaluate("() => { window.loadedOnce = 'yes'; }")  # gone if the page reloads

    resident = new_phone()
    sign_in(resident, world["resident"])
    resident.goto(point_page)
    resident.locator("#record-dropoff").tap()
    expect(resident.locator("#awaiting-grade")).to_be_visible()
    shot(resident, "dropoff-queue-resident")

    label = f"97幢1单元{world['room']}室"
    item = inspector.locator("#queue-list li", has_text=label)
    expect(item).to_be_visible()  # the poll brought it, no reload
    assert inspector.evaluate("() => window.loadedOnce") == "yes"
    expect(inspector.locator("#queue-empty")).to_be_hidden()
    shot(inspector, "dropoff-queue-inspector")

    item.locator('button[data-grade="good"]').tap()
    expect(item.locator(".queue-grades")).to_have_count(0)  # no second tap offered
    graded = inspector.locator("#queue-list li.graded", has_text=label)
    expect(graded).to_be_visible()  # the queue says so, from the server
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    after = server.api("GET", f"/api/v1/accounts/{account_id}", token=admin)["balance_points"]
    assert after > before
    assert inspector.evaluate("() => window.loadedOnce") == "yes"

    # The resident's page follows the balance: the grade's points show without a reload.
    expect(resident.locator("#balance")).to_have_attribute("data-balance", str(after))
    shot(resident, "dropoff-queue-resident-graded")
    own = server.api("GET", f"/api/v1/accounts/{account_id}", token=server.token(world["resident"]))
    assert own["balance_points"] == after
    assert inspector.problems == [], inspector.problems
    assert resident.problems == [], resident.problems
    assert queue.get_attribute("data-polls") is not None
