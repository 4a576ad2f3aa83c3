"""A grade with a photo, made offline in headless Chromium: the photo is shrunk on the phone,
waits with the grade, is uploaded first when the network is back, and the grade names it.

Screenshots land in screenshots/ with the other pages'.
"""

from __future__ import annotations

import base64
import io
import json
import re
import urllib.request
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.browser.conftest import Server, image_width, shot, sign_in

pytestmark = pytest.mark.browser
QUEUE = "greenledger.outbox.v1"


def camera_photo() -> bytes:
    """A PNG larger than the phone keeps (1600×1200), as a camera would hand it over."""
    image = Image.new("RGB", (1600, 1200), (40, 110, 60))
    draw = ImageDraw.Draw(image)
    for step in range(0, 1600, 80):
        draw.rectangle((step, step // 2, step + 40, step // 2 + 300), fill=(200, step % 255, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def get_bytes(server: Server, path: str, token: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(  # noqa: S310 (our own server on 127.0.0.1)
        server.url + path, headers={"authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, response.headers["content-type"], response.read()


def inspections_by_inspector(server: Server) -> list[dict[str, Any]]:
    """Every inspection event the demo inspector sent, newest first (the audit log)."""
    page = server.api(
        "GET", "/api/v1/audit?role=inspector&actor=inspector&limit=500", token=server.token("admin")
    )
    return [item for item in page["items"] if item["operation"] == "inspection"]


def test_a_photo_taken_offline_is_uploaded_before_its_grade_and_the_grade_names_it(
    new_phone: Any, server: Server
) -> None:
    admin = server.token("admin")
    resident_me = server.api("GET", "/api/v1/me", token=server.token("resident"))
    households = server.api("GET", "/api/v1/households?limit=5", token=admin)["items"]
    own = next(h for h in households if h["id"] == resident_me["household_id"])
    account = f"/api/v1/accounts/{own['account_id']}"
    before = int(server.api("GET", account, token=admin)["balance_points"])
    seen_before = {item["event_id"] for item in inspections_by_inspector(server)}

    inspector = new_phone()
    sign_in(inspector, "inspector")
    inspector.goto(f"/q/{own['token']}")
    inspector.context.set_offline(True)
    inspector.locator("#stream").select_option("hazardous")
    inspector.set_input_files(
        "#photo", files=[{"name": "bin.png", "mimeType": "image/png", "buffer": camera_photo()}]
    )
    expect(inspector.locator("#photo-preview")).to_be_visible()  # shrunk, shown as data:
    inspector.get_by_role("button", name="优秀").click()
    expect(inspector.locator("#outbox-pending")).to_have_text("1")
    expect(inspector.locator("#photo-preview")).to_be_hidden()
    shot(inspector, "inspector-offline-photo")

    queued = inspector.evaluate(f"localStorage.getItem('{QUEUE}')")
    (item,) = json.loads(queued)
    assert "photo_ref" not in item["event"], "not uploaded while offline"
    header, _, encoded = item["photo"].partition(",")
    assert header == "data:image/jpeg;base64"
    kept = Image.open(io.BytesIO(base64.b64decode(encoded)))
    assert (kept.format, kept.size) == ("JPEG", (1280, 960)), "at most 1280 px on the long side"
    assert int(server.api("GET", account, token=admin)["balance_points"]) == before

    inspector.context.set_offline(False)  # the 'online' event: photo first, then the grade
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    expect(inspector.locator("#outbox-log li").first).to_contain_text("已上传")

    (graded,) = [e for e in inspections_by_inspector(server) if e["event_id"] not in seen_before]
    assert graded["outcome"] == "ok", graded
    ref = graded["inputs"]["photo_ref"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ref), graded
    status, content_type, data = get_bytes(server, f"/api/v1/photos/{ref}", admin)
    assert (status, content_type) == (200, "image/jpeg")
    assert base64.b64decode(encoded) == data, "the bytes the phone kept, stored as they were"
    credited = int(graded["result"]["points_awarded"])
    assert int(server.api("GET", account, token=admin)["balance_points"]) == before + credited

    # The queue as it was offline, sent again (an answer lost on the way): the upload names
    # the same photo and the grade replays by its event_id, crediting nothing more.
    inspector.evaluate(f"q => localStorage.setItem('{QUEUE}', q)", queued)
    inspector.reload()
    expect(inspector.locator("#outbox-pending")).to_have_text("0")
    again = [e for e in inspections_by_inspector(server) if e["event_id"] not in seen_before]
    assert [e["event_id"] for e in again] == [graded["event_id"]], "one grade, recorded once"
    assert int(server.api("GET", account, token=admin)["balance_points"]) == before + credited
    assert [p for p in inspector.problems if "ERR_INTERNET_DISCONNECTED" not in p] == []

    resident = new_phone()
    sign_in(resident, "resident")
    thumbnail = resident.locator(f'#grades img[src="/api/v1/photos/{ref}"]')
    expect(thumbnail).to_be_visible()
    assert image_width(thumbnail) > 0, "the photo loads on the resident's page (the CSP allows it)"
    shot(resident, "resident-home-photo")
    assert resident.problems == []
