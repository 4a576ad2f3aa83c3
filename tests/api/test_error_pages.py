"""Errors a person meets are pages in their language; a program keeps API.md's JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.api.pages_helpers import Demo, seed, sign_in_page

Client = AsyncTestClient[Any]
# What Chromium sends for a page it navigates to.
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
}
LONG_CODE = "x" * 101


@pytest.fixture
async def demo(fresh_db: None, settings: Settings) -> Demo:
    return await seed(settings)


@pytest.fixture
async def client(demo: Demo, settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        test_client.headers.update(BROWSER)
        yield test_client


def assert_page(response: Any, status: int, text: str) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert text in response.text, response.text[:1000]
    assert 'id="home" href="/"' in response.text  # the way back home
    assert '"code"' not in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    ["/no/such/page", f"/q/{LONG_CODE}", f"/open?code={LONG_CODE}", "/api/v1/nothing-here"],
)
async def test_an_unknown_address_is_a_404_page_in_chinese(client: Client, path: str) -> None:
    assert_page(await client.get(path), 404, "没有这个页面")


async def test_the_404_page_speaks_the_language_asked_for(client: Client) -> None:
    english = await client.get("/no/such/page", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert_page(english, 404, "There is no such page.")
    assert '<html lang="en"' in english.text
    client.cookies.set("lang", "en")
    assert_page(await client.get(f"/q/{LONG_CODE}"), 404, "There is no such page.")


async def test_an_error_page_keeps_the_signed_in_bar(client: Client) -> None:
    await sign_in_page(client, "resident")
    for path in ("/home/appeal/abc", "/no/such/page"):
        page = await client.get(path)
        assert_page(page, 404, "没有这个页面")
        assert "resident · 居民" in page.text
        assert 'action="/logout"' in page.text
        assert f'value="{client.cookies["gl_csrf"]}"' in page.text  # sign-out works from here


async def test_opening_a_form_only_address_is_a_405_page(client: Client, demo: Demo) -> None:
    await sign_in_page(client, "resident")
    for path in ("/logout", f"/scan/{demo.point_token}/dropoff", "/coordinator/shifts"):
        page = await client.get(path)
        assert_page(page, 405, "只接收从页面提交的表单")
        assert "POST" in page.headers["allow"]


async def test_an_unknown_or_invalid_code_is_a_404_page(client: Client, demo: Demo) -> None:
    for token in ("hello", demo.point_token[:-1] + "码", demo.point_token[:-2] + "AA"):
        page = await client.get(f"/q/{token}")
        assert page.status_code == 404, token
        assert 'id="code-error"' in page.text


@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "application/json, text/html", "a/b;;q=x,,"]
)
async def test_programs_keep_the_json_errors(client: Client, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    if accept is None:
        client.headers.pop("Accept")
    for path, status, code in (
        ("/no/such/page", 404, "not_found"),
        (f"/q/{LONG_CODE}", 404, "not_found"),
        ("/api/v1/nothing-here", 404, "not_found"),
        ("/api/v1/me", 401, "unauthorized"),
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == status, path
        assert response.json()["code"] == code, path
    refused = await client.post("/api/v1/auth/token", json={"username": 1}, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["field"] == "username"


async def test_a_browser_opening_an_api_address_gets_pages(client: Client) -> None:
    signed_out = await client.get("/api/v1/me", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=/api/v1/me"
    await sign_in_page(client, "resident")
    assert_page(await client.get("/api/v1/audit"), 403, "您的身份不能访问此页面")
