"""The request path's shortcuts answer exactly what the long way answers (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders

from api.app import create_app
from api.logs import _REDACTIONS, redact
from api.pages.i18n import _UNSTATED, _states_preferences, preferences_of
from api.pages.web import add_document_headers, add_security_headers
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
    add_document_headers(headers, headers.get("content-type", ""), path)


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


def redact_every_pattern(text: str) -> str:
    """redact as it was: every pattern over every text."""
    for pattern, replacement, _ in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v1/accounts/{account_id:int} 200",
        "GET /q/{token:str} 200",
        "Authorization: Bearer abc.def",
        "BEARER xyz",
        'password=hunter2 "pin": "1234" Token: t0k phone=x SECRET=y passwd=z',
        "call 13812345678 or +86 139-0000 or +86 13900001111, not 123812345678",
        "a jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl and eyJx.y",
        "ſecret=1 \u212aey token=2 ıd",  # non-ASCII: every pattern runs
        "１３８１２３４５６７８ fullwidth digits",
        "",
    ],
)
def test_redaction_is_that_of_every_pattern(text: str) -> None:
    assert redact(text) == redact_every_pattern(text)


@examples(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "bearer",
                "Bearer ",
                "token",
                "PIN",
                ":",
                "=",
                '"',
                " ",
                "1",
                "3",
                "8",
                "86",
                "+",
                "eyJ",
                ".",
                "a",
                "-",
                "secret",
                "phone",
                "passwd",
                "0123456789",
                "K",
                "ſ",
                "\u212a",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_redaction_is_that_of_every_pattern_for_any_text(text: str) -> None:
    assert redact(text) == redact_every_pattern(text)
