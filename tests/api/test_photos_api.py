"""Inspection photos through HTTP: upload once per content, the limits, who reads them, and a
grade naming a photo (on both engines: `GREENLEDGER_TEST_DB=postgres` runs this file too)."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
from ledger.domain.photos import PHOTO_BYTES_MAX
from tests.api.conftest import Headers, assert_error, new_event_id
from tests.api.pages_helpers import Demo, csrf_from, hidden, seed, sign_in_page
from tests.api.security_world import Client, Estate, Site, build_estate, frozen_app_clock


def jpeg(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real JPEG; `seed` changes its pixels, so each seed is another photo."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, 120))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def png(seed: int = 0) -> bytes:
    image = Image.new("RGB", (8, 8), (seed % 256, 10, 10))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def ref_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def upload(
    client: Client, headers: Headers, data: bytes, content_type: str = "image/jpeg"
) -> Any:
    return await client.post(
        "/api/v1/photos", content=data, headers={**headers, "content-type": content_type}
    )


@pytest.fixture
async def estate(admin_user: None, settings: Settings) -> AsyncIterator[Estate]:
    clock = frozen_app_clock()
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        yield await build_estate(client, clock)


async def grade_with_photo(estate: Estate, site: Site, photo_ref: str) -> Any:
    body = {
        "event_id": new_event_id(),
        "household_token": site.card_token,
        "point_token": site.point_token,
        "stream": "kitchen",
        "grade": "poor",
        "photo_ref": photo_ref,
    }
    return await estate.client.post(
        "/api/v1/inspections", json=body, headers=estate.inspector_everywhere
    )


# --- upload -----------------------------------------------------------------------------------


async def test_an_upload_is_named_by_its_content_and_a_repeat_writes_nothing(
    estate: Estate,
) -> None:
    client, inspector = estate.client, estate.callers[Role.INSPECTOR]
    photo = jpeg(1)
    first = await upload(client, inspector, photo)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "photo_ref": ref_of(photo),
        "size_bytes": len(photo),
        "content_type": "image/jpeg",
    }
    again = await upload(client, inspector, photo)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    by_another = await upload(client, estate.callers[Role.COORDINATOR], photo)
    assert (by_another.status_code, by_another.json()) == (200, first.json())

    fetched = await client.get(f"/api/v1/photos/{ref_of(photo)}", headers=inspector)
    assert fetched.status_code == 200
    assert fetched.content == photo
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert "sandbox" in fetched.headers["content-security-policy"]
    assert fetched.headers["x-content-type-options"] == "nosniff"


async def test_a_png_is_stored_as_a_png_and_an_admin_may_upload(estate: Estate) -> None:
    photo = png(3)
    reply = await upload(estate.client, estate.admin, photo, "image/png")
    assert reply.status_code == 201, reply.text
    assert reply.json()["content_type"] == "image/png"
    fetched = await estate.client.get(f"/api/v1/photos/{ref_of(photo)}", headers=estate.admin)
    assert fetched.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "says"),
    [
        (b"", "image/jpeg", 400, "validation_error", "empty"),
        (b"GIF89a" + b"\x00" * 40, "image/gif", 415, "unsupported_media_type", "JPEG, PNG or WebP"),
        (b"hello, this is text", "image/jpeg", 415, "unsupported_media_type", "not a JPEG"),
        (png(1), "image/jpeg", 415, "unsupported_media_type", "a PNG image but was sent as"),
        (jpeg(2), "text/plain", 415, "unsupported_media_type", "text/plain"),
    ],
)
async def test_bad_uploads_are_refused_naming_what_was_wrong(
    estate: Estate, body: bytes, content_type: str, status: int, code: str, says: str
) -> None:
    reply = await upload(estate.client, estate.callers[Role.INSPECTOR], body, content_type)
    error = assert_error(reply, status, code)
    assert says in error["detail"], error
    if body:
        missing = await estate.client.get(f"/api/v1/photos/{ref_of(body)}", headers=estate.admin)
        assert_error(missing, 404, "not_found")


async def test_a_photo_of_exactly_2_mib_fits_and_one_byte_more_is_refused_naming_the_limit(
    estate: Estate,
) -> None:
    inspector = estate.callers[Role.INSPECTOR]
    photo = jpeg(4)
    biggest = photo + b"\x00" * (PHOTO_BYTES_MAX - len(photo))  # bytes after the image's end
    stored = await upload(estate.client, inspector, biggest)
    assert stored.status_code == 201, stored.text
    assert stored.json()["size_bytes"] == 2 * 1024 * 1024
    refused = await upload(estate.client, inspector, biggest + b"\x00")
    error = assert_error(refused, 413, "body_too_large")
    assert "2,097,152 bytes" in error["detail"], error


async def test_other_endpoints_keep_their_own_body_limit(estate: Estate) -> None:
    """The photo's limit is its endpoint's own; a JSON body of the same size elsewhere is
    refused as before (the app-wide limit)."""
    site = estate.sites["own"]
    fields = {
        "event_id": new_event_id(),
        "household_token": site.card_token,
        "point_token": site.point_token,
        "stream": "kitchen",
        "grade": "good",
        "photo_ref": "x" * (PHOTO_BYTES_MAX + 10),
    }
    body = json.dumps(fields)
    reply = await estate.client.post(
        "/api/v1/inspections",
        content=body.encode(),
        headers={**estate.callers[Role.INSPECTOR], "content-type": "application/json"},
    )
    assert_error(reply, 413, "body_too_large")


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.CLERK, Role.VOLUNTEER])
async def test_only_inspectors_coordinators_and_admins_upload(estate: Estate, role: Role) -> None:
    reply = await upload(estate.client, estate.callers[role], jpeg(5))
    assert_error(reply, 403, "forbidden")


async def test_nobody_signed_out_uploads_or_reads(estate: Estate) -> None:
    photo = jpeg(6)
    assert (await upload(estate.client, {}, photo)).status_code == 401
    await upload(estate.client, estate.callers[Role.INSPECTOR], photo)
    assert (await estate.client.get(f"/api/v1/photos/{ref_of(photo)}")).status_code == 401


async def test_a_ref_that_is_not_one_of_ours_is_a_400(estate: Estate) -> None:
    reply = await estate.client.get("/api/v1/photos/sha256:xyz", headers=estate.admin)
    assert reply.status_code == 400, reply.text


# --- who reads a photo ------------------------------------------------------------------------


async def test_the_graded_household_staff_of_the_community_and_the_uploader_read_the_photo(
    estate: Estate,
) -> None:
    own = estate.sites["own"]
    photo = jpeg(7)
    assert (await upload(estate.client, estate.inspector_everywhere, photo)).status_code == 201
    graded = await grade_with_photo(estate, own, ref_of(photo))
    assert graded.status_code == 201, graded.text
    path = f"/api/v1/photos/{ref_of(photo)}"

    async def status(headers: Headers) -> tuple[int, str | None]:
        reply = await estate.client.get(path, headers=headers)
        code = None if reply.status_code == 200 else reply.json()["code"]
        return reply.status_code, code

    assert await status(own.resident) == (200, None), "a member of the graded household"
    assert await status(estate.callers[Role.RESIDENT]) == (200, None), "the resident lives there"
    assert await status(estate.inspector_everywhere) == (200, None), "the uploader"
    assert await status(estate.callers[Role.COORDINATOR]) == (200, None), "their community"
    assert await status(estate.admin) == (200, None)
    neighbour = estate.sites["other_household"].resident
    assert await status(neighbour) == (403, "forbidden"), "an unrelated resident"
    far = estate.sites["other_community"].resident
    assert await status(far) == (403, "forbidden")
    assert await status(estate.callers[Role.INSPECTOR]) == (403, "forbidden"), "not the uploader"
    assert await status(estate.callers[Role.CLERK]) == (403, "forbidden")
    assert await status(estate.callers[Role.VOLUNTEER]) == (403, "forbidden")


async def test_a_coordinator_of_another_community_is_refused(estate: Estate) -> None:
    far = estate.sites["other_community"]
    photo = jpeg(8)
    await upload(estate.client, estate.inspector_everywhere, photo)
    graded = await grade_with_photo(estate, far, ref_of(photo))
    assert graded.status_code == 201, graded.text
    path = f"/api/v1/photos/{ref_of(photo)}"
    coordinator = estate.callers[Role.COORDINATOR]  # serves a compound of community 1 only
    assert_error(await estate.client.get(path, headers=coordinator), 403, "out_of_scope")
    assert (await estate.client.get(path, headers=far.resident)).status_code == 200


async def test_a_photo_not_yet_named_by_a_grade_is_seen_by_its_communitys_coordinator(
    estate: Estate,
) -> None:
    """An inspector of one community uploads: that community's coordinator reads it at once,
    another household does not."""
    photo = jpeg(9)
    await upload(estate.client, estate.callers[Role.INSPECTOR], photo)
    path = f"/api/v1/photos/{ref_of(photo)}"
    coordinator = await estate.client.get(path, headers=estate.callers[Role.COORDINATOR])
    assert coordinator.status_code == 200
    resident = await estate.client.get(path, headers=estate.callers[Role.RESIDENT])
    assert_error(resident, 403, "forbidden")


# --- a grade naming a photo -------------------------------------------------------------------


async def _balance(estate: Estate, site: Site) -> int:
    reply = await estate.client.get(f"/api/v1/accounts/{site.account_id}", headers=estate.admin)
    return int(reply.json()["balance_points"])


async def test_a_grade_naming_an_unknown_photo_is_refused_and_nothing_is_written(
    estate: Estate,
) -> None:
    own = estate.sites["own"]
    photo = jpeg(10)
    before = await _balance(estate, own)
    audit_before = (await estate.client.get("/api/v1/audit", headers=estate.admin)).json()
    body = {
        "event_id": new_event_id(),
        "household_token": own.card_token,
        "point_token": own.point_token,
        "stream": "kitchen",
        "grade": "good",
        "photo_ref": ref_of(photo),
    }
    inspector = estate.callers[Role.INSPECTOR]
    refused = await estate.client.post("/api/v1/inspections", json=body, headers=inspector)
    error = assert_error(refused, 400, "validation_error")
    assert error["field"] == "photo_ref"
    assert "POST /api/v1/photos" in error["detail"]
    batch = {"events": [{"type": "inspection", **body}]}
    reply = await estate.client.post("/api/v1/events:batch", json=batch, headers=inspector)
    (item,) = reply.json()["results"]
    assert (item["status"], item["body"]["code"], item["body"]["field"]) == (
        400,
        "validation_error",
        "photo_ref",
    )
    malformed = {**body, "event_id": new_event_id(), "photo_ref": "sha256:not-hex"}
    refused = await estate.client.post("/api/v1/inspections", json=malformed, headers=inspector)
    assert assert_error(refused, 400, "validation_error")["field"] == "photo_ref"

    assert await _balance(estate, own) == before
    audit_after = (await estate.client.get("/api/v1/audit", headers=estate.admin)).json()
    assert audit_after == audit_before, "no inspection, no entry, no idempotency record"

    # The same event once the photo is there: nothing was recorded for it, so it now counts.
    assert (await upload(estate.client, inspector, photo)).status_code == 201
    accepted = await estate.client.post("/api/v1/inspections", json=body, headers=inspector)
    assert accepted.status_code == 201, accepted.text
    assert await _balance(estate, own) == before + accepted.json()["points_awarded"]


async def test_a_grade_names_only_a_photo_its_inspector_uploaded(estate: Estate) -> None:
    """Issue 12, item 7: naming another compound's photo in a grade showed it to the graded
    household. Another user's photo is refused exactly as an unknown one (nothing leaks)."""
    far = estate.sites["other_community"]
    foreign = jpeg(11)  # uploaded by an inspector of community 1 only
    assert (await upload(estate.client, estate.callers[Role.INSPECTOR], foreign)).status_code == 201
    unknown = jpeg(12)  # never uploaded
    before = await _balance(estate, far)
    audit_before = (await estate.client.get("/api/v1/audit", headers=estate.admin)).json()

    async def refusals(photo: bytes) -> list[Any]:
        """The refusal of a grade naming the photo: alone, and in a batch of two gradings
        (the batch path on PostgreSQL)."""
        alone = await grade_with_photo(estate, far, ref_of(photo))
        assert alone.status_code == 400, alone.text
        events = [
            {
                "type": "inspection",
                "event_id": new_event_id(),
                "household_token": far.card_token,
                "point_token": far.point_token,
                "stream": stream,
                "grade": "poor",
                "photo_ref": ref_of(photo),
            }
            for stream in ("kitchen", "other")
        ]
        sent = await estate.client.post(
            "/api/v1/events:batch", json={"events": events}, headers=estate.inspector_everywhere
        )
        assert sent.status_code == 200, sent.text
        return [alone.json(), *(item["body"] for item in sent.json()["results"])]

    refused = await refusals(foreign)
    assert refused == await refusals(unknown)
    assert all(body["code"] == "validation_error" for body in refused)
    assert all(body["field"] == "photo_ref" for body in refused)
    assert await _balance(estate, far) == before
    audit_after = (await estate.client.get("/api/v1/audit", headers=estate.admin)).json()
    assert audit_after == audit_before, "nothing recorded"
    path = f"/api/v1/photos/{ref_of(foreign)}"
    assert (await estate.client.get(path, headers=far.resident)).status_code == 403

    # The photo's own uploader names it freely.
    own = estate.sites["own"]
    body = {
        "event_id": new_event_id(),
        "household_token": own.card_token,
        "point_token": own.point_token,
        "stream": "kitchen",
        "grade": "poor",
        "photo_ref": ref_of(foreign),
    }
    graded = await estate.client.post(
        "/api/v1/inspections", json=body, headers=estate.callers[Role.INSPECTOR]
    )
    assert graded.status_code == 201, graded.text


async def test_a_grade_with_a_photo_kept_elsewhere_keeps_its_text(estate: Estate) -> None:
    """Only refs in this system's own form must exist; other text is kept as before."""
    graded = await grade_with_photo(estate, estate.sites["own"], "camera-roll/IMG_0042.jpg")
    assert graded.status_code == 201, graded.text


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
async def demo(fresh_db: None, settings: Settings) -> Demo:
    return await seed(settings)


@pytest.fixture
async def page_client(demo: Demo, settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def test_the_grading_form_without_javascript_sends_its_photo_and_pages_show_it(
    page_client: Client, demo: Demo
) -> None:
    client = page_client
    await sign_in_page(client, "inspector")
    page = await client.get(f"/q/{demo.card_token}")
    assert 'enctype="multipart/form-data"' in page.text
    assert 'type="file" name="photo"' in page.text
    point = re.search(r'<option value="([^"]+)"', page.text)
    assert point
    photo = jpeg(11)
    fields = {
        "_csrf_token": csrf_from(page.text),
        "event_id": hidden(page.text, "event_id"),
        "point_token": point.group(1),
        "stream": "kitchen",
        "grade": "poor",
    }
    sent = await client.post(
        f"/scan/{demo.card_token}/grade",
        data=fields,
        files={"photo": ("IMG_0001.jpg", photo, "image/jpeg")},
    )
    assert sent.status_code == 200, sent.text
    assert "评分已记录" in sent.text

    no_photo = await client.get(f"/q/{demo.card_token}")
    without = await client.post(
        f"/scan/{demo.card_token}/grade",
        data={**fields, "event_id": hidden(no_photo.text, "event_id"), "stream": "other"},
        files={"photo": ("", b"", "application/octet-stream")},  # no file chosen
    )
    assert without.status_code == 200, without.text

    client.cookies.clear()
    await sign_in_page(client, "resident")
    home = await client.get("/home")
    path = f"/api/v1/photos/{ref_of(photo)}"
    assert home.text.count(f'src="{path}"') == 1, "one grade has a photo"
    fetched = await client.get(path)
    assert (fetched.status_code, fetched.content) == (200, photo)
    (graded_item,) = [item for item in home.text.split("<li>") if f'src="{path}"' in item]
    link = re.search(r'href="(/home/appeal/\d+)"', graded_item)
    assert link, "the grade with the photo has its appeal button"
    form = await client.get(link.group(1))
    appealed = await client.post(
        link.group(1),
        data={
            "_csrf_token": csrf_from(form.text),
            "event_id": hidden(form.text, "event_id"),
            "reason": "照片里分得很清楚",
        },
    )
    assert appealed.status_code == 200, appealed.text

    client.cookies.clear()
    await sign_in_page(client, "coordinator")
    coordinator = await client.get("/coordinator")
    assert "照片里分得很清楚" in coordinator.text
    assert f'src="{path}"' in coordinator.text
    assert (await client.get(path)).status_code == 200


async def test_the_grading_form_refuses_a_file_that_is_not_a_photo_as_a_page(
    page_client: Client, demo: Demo
) -> None:
    client = page_client
    await sign_in_page(client, "inspector")
    page = await client.get(f"/q/{demo.card_token}")
    point = re.search(r'<option value="([^"]+)"', page.text)
    assert point
    sent = await client.post(
        f"/scan/{demo.card_token}/grade",
        data={
            "_csrf_token": csrf_from(page.text),
            "event_id": hidden(page.text, "event_id"),
            "point_token": point.group(1),
            "stream": "kitchen",
            "grade": "good",
        },
        files={"photo": ("notes.txt", b"not a photo", "text/plain")},
    )
    assert sent.status_code == 415, sent.status_code
    assert sent.headers["content-type"].startswith("text/html")


async def test_the_grading_form_takes_a_2_mib_photo_and_refuses_a_bigger_body_as_a_page(
    page_client: Client, demo: Demo
) -> None:
    client = page_client
    await sign_in_page(client, "inspector")
    photo = jpeg(12)
    biggest = photo + b"\x00" * (PHOTO_BYTES_MAX - len(photo))
    for data, stream, status in (
        (biggest, "kitchen", 200),
        (biggest + b"\x00" * (128 * 1024), "other", 413),
    ):
        page = await client.get(f"/q/{demo.card_token}")
        point = re.search(r'<option value="([^"]+)"', page.text)
        assert point
        sent = await client.post(
            f"/scan/{demo.card_token}/grade",
            data={
                "_csrf_token": csrf_from(page.text),
                "event_id": hidden(page.text, "event_id"),
                "point_token": point.group(1),
                "stream": stream,
                "grade": "good",
            },
            files={"photo": ("IMG_0002.jpg", data, "image/jpeg")},
        )
        assert sent.status_code == status, sent.text[:300]
        assert sent.headers["content-type"].startswith("text/html")
    assert "照片太大" in sent.text


async def test_piccolo_admin_does_not_list_the_photo_bytes(page_client: Client) -> None:
    await sign_in_page(page_client, "admin")
    tables = await page_client.get("/admin/api/tables/")
    assert tables.status_code == 200
    assert "inspection" in tables.json()
    assert "photo" not in tables.json()
