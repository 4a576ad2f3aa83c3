"""The coordinator's shifts to approve line up: tick boxes in one column, the minutes in another,
whatever the length of the names, in Chromium on a phone-sized screen."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, ROOT, Server, shot, sign_in

pytestmark = pytest.mark.browser

# Shifts of the past need a clock of the past: the services, on the server's database, with a
# frozen clock (as the tests build them), check each volunteer in and out at a post.
_SHIFTS = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from api.app import point_store_at
from api.settings import Settings

async def main(post_token, minutes, usernames):
    settings = Settings.from_env()
    point_store_at(settings)
    from ledger.services.container import Services
    from ledger.store.tables import AppUser
    from tests.factories import FrozenClock
    clock = FrozenClock(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    await services.db.start()
    try:
        for username, length in zip(usernames, minutes):
            row = await AppUser.select(AppUser.id).where(AppUser.username == username).first()
            member = await services.users.principal(row["id"])
            await services.shifts.check_in(member, "in-" + username, post_token)
            clock.advance(minutes=length)
            await services.shifts.check_out(member, "out-" + username, post_token)
    finally:
        await services.db.close()

asyncio.run(main(sys.argv[1], [int(m) for m in sys.argv[2].split(",")], sys.argv[3:]))
"""


@pytest.fixture(scope="module")
def pending_shifts(server: Server) -> None:
    """Three volunteers, one with a long unbroken name, with shifts of 15, 125 and 600 minutes."""
    admin = server.token("admin")
    me = server.api("GET", "/api/v1/me", token=server.token("resident"))
    households = server.api("GET", "/api/v1/households?limit=5", token=admin)["items"]
    own = next(h for h in households if h["id"] == me["household_id"])
    account = server.api("GET", f"/api/v1/accounts/{own['account_id']}", token=admin)
    post = server.api("GET", f"/api/v1/posts?compound_id={own['compound_id']}", token=admin)
    usernames = []
    for name in ("李明", "Volunteerwithalongunbrokenname" * 3, "欧阳秀英"):
        volunteer = server.api(
            "POST",
            "/api/v1/volunteers",
            {"event_id": uuid.uuid4().hex, "community_id": account["community_id"], "name": name},
            token=admin,
        )
        username = f"rows-{uuid.uuid4().hex[:8]}"
        server.api(
            "POST",
            "/api/v1/users",
            {
                "event_id": uuid.uuid4().hex,
                "username": username,
                "password": DEMO_PASSWORD,
                "role": "volunteer",
                "volunteer_id": volunteer["id"],
            },
            token=admin,
        )
        usernames.append(username)
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _SHIFTS, post["items"][0]["token"], "15,125,600", *usernames],
        cwd=ROOT,
        env=server.env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_shift_rows_line_up(new_phone: Any, pending_shifts: None) -> None:
    page = new_phone()
    sign_in(page, "coordinator")
    page.goto("/coordinator")
    rows = page.locator("#shifts-form li")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    shot(page, "coordinator-shift-rows")
    boxes, minutes, texts = [], [], []
    for row in rows.all():
        boxes.append(row.locator('input[type="checkbox"]').bounding_box())
        minutes.append(row.locator(".shift-minutes").bounding_box())
        texts.append(row.locator(".shift-what").bounding_box())
    # One column of tick boxes, one of minutes (right-aligned), the details between them.
    assert len({round(box["x"]) for box in boxes}) == 1, boxes
    assert len({round(box["x"] + box["width"]) for box in minutes}) == 1, minutes
    for box, what, spent in zip(boxes, texts, minutes, strict=True):
        assert box["x"] + box["width"] <= what["x"], (box, what)
        assert what["x"] + what["width"] <= spent["x"], (what, spent)
        assert box["height"] >= 20, box  # a tick box a finger can find
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.problems == []
