"""Every HTML and SVG response carries a CSP and refuses framing, wherever it comes from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.api.pages_helpers import seed, sign_in_page

Client = AsyncTestClient[Any]
DAY = {"from": "2026-11-25", "to": "2026-11-25"}


@pytest.fixture
async def staff(fresh_db: None, settings: Settings) -> AsyncIterator[Client]:
    await seed(settings)
    async with AsyncTestClient(app=create_app(settings)) as client:
        await sign_in_page(client, "admin")
        yield client


def assert_protected(reply: Any, content_type: str) -> str:
    assert reply.status_code == 200, (reply.request.url, reply.status_code)
    assert reply.headers["content-type"].startswith(content_type)
    policy: str = reply.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "http" not in policy  # same origin only: nothing from elsewhere
    assert "'unsafe-eval'" not in policy
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["x-content-type-options"] == "nosniff"
    return policy


async def test_piccolo_admin_s_page_has_the_headers(staff: Client) -> None:
    policy = assert_protected(await staff.get("/admin/"), "text/html")
    assert "script-src 'self';" in policy  # its icons need inline styles, never inline scripts


async def test_the_api_docs_have_the_headers_and_load_nothing_from_elsewhere(
    staff: Client,
) -> None:
    docs = await staff.get("/schema/swagger")
    policy = assert_protected(docs, "text/html")
    assert "script-src 'self';" in policy
    assert "cdn" not in docs.text
    assert "<script>" not in docs.text  # no inline script: the policy would block it
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert f'"/swagger-ui/{asset}"' in docs.text
        served = await staff.get(f"/swagger-ui/{asset}")
        assert served.status_code == 200, asset
    assert (await staff.get("/static/swagger-init.js")).status_code == 200


async def test_svg_charts_and_codes_under_api_have_the_headers(staff: Client) -> None:
    chart = await staff.get("/api/v1/reports/charts/trends.svg", params={"community_id": 1, **DAY})
    for reply in (chart, await staff.get("/api/v1/qr/point/1.svg")):
        policy = assert_protected(reply, "image/svg+xml")
        assert "default-src 'none'" in policy
        assert "script-src" not in policy  # default-src 'none': an SVG runs no script


async def test_html_documents_under_api_have_the_headers(staff: Client) -> None:
    sheet = await staff.get("/api/v1/qr/sheet", params={"compound_id": 1, "kind": "point"})
    policy = assert_protected(sheet, "text/html")
    assert "default-src 'none'" in policy
    assert "script-src" not in policy


async def test_a_page_s_svg_chart_has_the_headers(staff: Client) -> None:
    chart = await staff.get("/staff/charts/trends.svg", params={"community_id": 1, **DAY})
    assert_protected(chart, "image/svg+xml")
