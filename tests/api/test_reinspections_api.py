"""Re-inspection and inspection flags over HTTP (issue 19, 2(b), 2(c)), both engines: the
coordinator's sample with its photo, a re-grade and its refusals (bad grade, someone else's
sample, already decided), the staff reports and who may read them, and the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
from tests.api.conftest import USER_PASSWORD, Headers, assert_error, new_event_id
from tests.api.pages_helpers import csrf_from, hidden
from tests.api.security_world import Estate, add_user, build_estate, frozen_app_clock
from tests.api.test_photos_api import jpeg, upload


@pytest.fixture
async def estate(admin_user: None, settings: Settings) -> AsyncIterator[Estate]:
    clock = frozen_app_clock()
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        yield await build_estate(client, clock)


async def graded_with_photo(estate: Estate) -> int:
    """The own site's household graded "fair" with a photo; then the day closes."""
    site = estate.sites["own"]
    ref = (await upload(estate.client, estate.inspector_everywhere, jpeg(7))).json()["photo_ref"]
    body = {
        "event_id": new_event_id(),
        "household_token": site.card_token,
        "point_token": site.point_token,
        "stream": "kitchen",
        "grade": "fair",
        "photo_ref": ref,
    }
    reply = await estate.client.post(
        "/api/v1/inspections", json=body, headers=estate.inspector_everywhere
    )
    assert reply.status_code == 201, reply.text
    estate.clock.advance(days=1)
    return int(reply.json()["inspection_id"])


async def grade(estate: Estate, headers: Headers, item_id: int, value: str, key: str = "") -> Any:
    body = {"event_id": key or new_event_id(), "grade": value}
    return await estate.client.post(
        f"/api/v1/reinspections/{item_id}/grade", json=body, headers=headers
    )


async def test_a_coordinator_regrades_the_sample_from_its_photo(estate: Estate) -> None:
    inspection_id = await graded_with_photo(estate)
    coordinator = estate.callers[Role.COORDINATOR]

    sample = await estate.client.get("/api/v1/reinspections", headers=coordinator)

    assert sample.status_code == 200, sample.text
    (item,) = sample.json()["items"]
    assert item["inspection_id"] == inspection_id
    assert item["regraded_grade"] is None
    photo = await estate.client.get(f"/api/v1/photos/{item['photo_ref']}", headers=coordinator)
    assert photo.status_code == 200
    again = await estate.client.get(
        "/api/v1/reinspections", params={"day": sample.json()["day"]}, headers=coordinator
    )
    assert again.json() == sample.json()

    bad = assert_error(
        await grade(estate, coordinator, item["reinspection_id"], "great"), 400, "validation_error"
    )
    assert bad["field"] == "grade"
    _, other = await add_user(
        estate.client,
        estate.admin,
        Role.COORDINATOR,
        compound_ids=[estate.sites["own"].compound_id],
    )
    assert_error(await grade(estate, other, item["reinspection_id"], "good"), 403, "forbidden")
    key = new_event_id()
    decided = await grade(estate, coordinator, item["reinspection_id"], "good", key)
    assert decided.status_code == 200, decided.text
    assert decided.json()["corrected"] is True
    assert decided.json()["reversal_entry_id"] is not None
    replay = await grade(estate, coordinator, item["reinspection_id"], "good", key)
    assert replay.json() == decided.json()
    refused = await grade(estate, coordinator, item["reinspection_id"], "poor")
    assert_error(refused, 409, "already_decided")
    assert_error(await grade(estate, coordinator, 10**9, "poor"), 404, "not_found")

    community = estate.sites["own"].community_id
    period = {"community_id": community, "from": sample.json()["day"], "to": sample.json()["day"]}
    report = await estate.client.get(
        "/api/v1/reports/reinspections", params=period, headers=estate.admin
    )
    assert report.status_code == 200, report.text
    assert [
        (r["regraded"], r["disagreed"], r["disagreement_rate"]) for r in report.json()["rows"]
    ] == [(1, 1, 1.0)]


async def test_only_coordinators_have_samples_and_only_admins_read_the_reports(
    estate: Estate,
) -> None:
    for role in (Role.INSPECTOR, Role.ADMIN, Role.RESIDENT):
        reply = await estate.client.get("/api/v1/reinspections", headers=estate.caller(role))
        assert reply.status_code == 403, (role, reply.text)
    today = await estate.client.get(
        "/api/v1/reinspections",
        params={"day": "2026-11-24"},
        headers=estate.callers[Role.COORDINATOR],
    )
    assert_error(today, 400, "validation_error")
    period = {
        "community_id": estate.sites["own"].community_id,
        "from": "2026-11-01",
        "to": "2026-11-28",
    }
    for path in ("/api/v1/reports/inspection-flags", "/api/v1/reports/reinspections"):
        ok = await estate.client.get(path, params=period, headers=estate.admin)
        assert ok.status_code == 200, ok.text
        refused = await estate.client.get(
            path, params=period, headers=estate.callers[Role.COORDINATOR]
        )
        assert refused.status_code == 403
    flags = await estate.client.get(
        "/api/v1/reports/inspection-flags", params=period, headers=estate.admin
    )
    assert flags.json() == {
        "community_id": period["community_id"],
        "from": "2026-11-01",
        "to": "2026-11-28",
        "flags": [],
    }


async def test_the_pages_show_the_sample_and_the_flags(estate: Estate) -> None:
    await graded_with_photo(estate)
    client = estate.client
    username = estate.usernames[Role.COORDINATOR]
    login = await client.get("/login")
    signed = await client.post(
        "/login",
        data={
            "username": username,
            "password": USER_PASSWORD,
            "_csrf_token": csrf_from(login.text),
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    page = await client.get("/coordinator/reinspections", headers={"accept-language": "en"})
    assert page.status_code == 200, page.text
    assert "/api/v1/photos/sha256:" in page.text
    assert "Your grade: " not in page.text  # a blind re-grade: the inspector's grade is not shown
    action = page.text.split('action="/coordinator/reinspections/')[1].split('"')[0]
    done = await client.post(
        f"/coordinator/reinspections/{action}",
        data={
            "_csrf_token": csrf_from(page.text),
            "event_id": hidden(page.text, "event_id"),
            "grade": "fair",
        },
        headers={"accept-language": "en"},
    )
    assert done.status_code == 200, done.text
    assert 'id="reinspection-agreed"' in done.text
    client.cookies.clear()
    staff = await client.get(
        "/staff",
        params={"community_id": estate.sites["own"].community_id},
        headers={**estate.admin, "accept": "text/html"},
    )
    assert staff.status_code == 200, staff.text
    assert 'id="inspection-flags"' in staff.text
    assert 'id="disagreements"' in staff.text
