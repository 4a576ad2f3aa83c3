"""The request path's shortcuts answer exactly what the long way answers (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders

from api.app import create_app
from api.pages.i18n import _UNSTATED, _states_preferences, preferences_of
from api.pages.web import add_security_headers, content_security_policy
from api.settings import Settings


def scope(query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/accounts/1",
        "raw_path": b"/api/v1/accounts/1",
        "query_string": query,
        "headers": headers or [(b"host", b"example"), (b"authorization", b"Bearer x")],
        "state": {},
    }


@pytest.mark.parametrize(
    "query", [b"", b"board=households&scope_id=1&period=month&limit=10", b"a=1&b=2"]
)
def test_a_request_stating_nothing_gets_what_preferences_of_answers(query: bytes) -> None:
    request = scope(query)
    assert not _states_preferences(request)
    assert preferences_of(ASGIConnection(request)) == _UNSTATED


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        (b"lang=en", []),
        (b"large=1", []),
        (b"%6Cang=en", []),  # `lang`, escaped
        (b"", [(b"cookie", b"lang=en")]),
        (b"", [(b"cookie", b"large=1")]),
        (b"", [(b"Cookie", b"lang=en")]),
        (b"", [(b"accept-language", b"en-GB,en;q=0.8")]),
    ],
)
def test_a_request_stating_a_preference_is_read_the_long_way(
    query: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    request = scope(query, [(b"host", b"example"), *headers])
    assert _states_preferences(request)
    assert preferences_of(ASGIConnection(request)) != _UNSTATED


def the_long_way(headers: MutableScopeHeaders, path: str) -> None:
    """add_security_headers as it was, through MutableScopeHeaders only."""
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    content_type = headers.get("content-type", "")
    policy = content_security_policy(content_type, path)
    if policy is None:
        return
    if "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = policy
    headers["X-Frame-Options"] = "DENY"
    if content_type.startswith("text/html") and not path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"


@pytest.mark.parametrize(
    "given",
    [
        [(b"content-type", b"application/json"), (b"content-length", b"2")],
        [(b"content-type", b"text/html; charset=utf-8")],
        [(b"content-type", b"image/svg+xml")],
        [(b"content-type", b"text/html"), (b"content-security-policy", b"default-src 'none'")],
        [(b"content-type", b"application/json"), (b"referrer-policy", b"no-referrer")],
        [(b"Content-Type", b"text/html"), (b"X-Content-Type-Options", b"other")],
        [(b"content-type", b""), (b"content-type", b"text/html")],
        [],
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/accounts/1", "/home", "/admin/", "/api/v1/qr.html"])
def test_security_headers_are_those_of_the_long_way(
    given: list[tuple[bytes, bytes]], path: str
) -> None:
    fast = {"type": "http.response.start", "status": 200, "headers": list(given)}
    slow = {"type": "http.response.start", "status": 200, "headers": list(given)}
    add_security_headers(MutableScopeHeaders.from_message(fast), path)  # type: ignore[arg-type]
    the_long_way(MutableScopeHeaders.from_message(slow), path)  # type: ignore[arg-type]
    assert fast["headers"] == slow["headers"]


def test_no_handler_resolves_its_dependencies_in_a_task_group(settings: Settings) -> None:
    """Litestar resolves a batch of two or more independent dependencies concurrently, in an
    anyio task group (new tasks on every request): every batch here has one."""
    app = create_app(settings)
    batches = [
        len(batch)
        for route in app.routes
        for _, model in getattr(route, "route_handler_map", {}).values()
        for batch in model.dependency_batches
    ]
    assert batches
    assert set(batches) == {1}
