"""An appeal decision reaches the resident's inbox, with the unread count in the top bar."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, shot, sign_in

pytestmark = pytest.mark.browser
RELOADS_MAX = 60


def decide_an_appeal(server: Server) -> int:
    """A poor grade of the resident's household, its appeal and an upheld decision, through
    the API; returns the appeal's id."""
    resident = server.token("resident")
    admin = server.token("admin")
    household_id = server.api("GET", "/api/v1/me", token=resident)["household_id"]
    households = server.api("GET", "/api/v1/households?limit=50", token=admin)["items"]
    own = next(h for h in households if h["id"] == household_id)
    compound = own["compound_id"]
    point = server.api("GET", f"/api/v1/points?compound_id={compound}", token=admin)["items"][0]
    graded = server.api(
        "POST",
        "/api/v1/inspections",
        {
            "event_id": str(uuid.uuid4()),
            "household_token": own["token"],
            "point_token": point["token"],
            "stream": "other",
            "grade": "poor",
            "reasons": ["mixed"],
        },
        token=server.token("inspector"),
    )
    opened = server.api(
        "POST",
        f"/api/v1/inspections/{graded['inspection_id']}/appeal",
        {"event_id": str(uuid.uuid4()), "reason": "分类是对的"},
        token=resident,
    )
    server.api(
        "POST",
        f"/api/v1/appeals/{opened['appeal_id']}/decide",
        {"event_id": str(uuid.uuid4()), "outcome": "upheld", "new_grade": "good"},
        token=server.token("coordinator"),
    )
    return int(opened["appeal_id"])


def test_an_appeal_decision_shows_in_the_inbox_with_the_unread_count(
    new_phone: Any, server: Server
) -> None:
    decide_an_appeal(server)
    resident = new_phone()
    sign_in(resident, "resident")
    expect(resident).to_have_url(re.compile(r"/home$"))
    decision = resident.locator('#inbox li[data-kind="appeal_decided"]')
    for _ in range(RELOADS_MAX):  # the server's loops number and project it within moments
        if decision.count():
            break
        resident.wait_for_timeout(500)
        resident.reload()
    expect(decision.first).to_contain_text("已被采纳")
    unread = server.api("GET", "/api/v1/me/notices", token=server.token("resident"))["unread"]
    assert unread >= 1
    expect(resident.locator("#unread-notices .badge")).to_have_text(str(unread))
    shot(resident, "resident-inbox")

    resident.locator("#mark-read").click()
    expect(resident).to_have_url(re.compile(r"/home#notices$"))
    expect(resident.locator("#unread-notices")).to_be_visible()
    expect(resident.locator("#unread-notices .badge")).to_have_count(0)
    assert resident.problems == []
