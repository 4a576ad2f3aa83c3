"""piccolo-admin at /admin, for subdistrict staff only: plain data upkeep, every write
checked as the API checks it (docs/decisions/2026-12-06-admin-edits-and-headers.md).

Two locks: Litestar's sign-in cookie with the admin role (the same guard as the staff pages),
then piccolo-admin's own session, which the pages' sign-in opens for an admin.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, cast
from urllib.parse import urlsplit

from litestar import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

from api.pages.admin_labels import relabelling, table_labels
from api.pages.errors import PAGE_EXCEPTION_HANDLERS
from api.security import ADMIN_ONLY
from api.settings import Settings
from ledger.services.catalog import reward_changes


def admin_mount(settings: Settings) -> ASGIRouteHandler:
    production = settings.base_url.startswith("https://")
    host = urlsplit(settings.base_url).hostname or "127.0.0.1"
    built: list[Any] = []

    def admin_app() -> Any:
        """Built on first use: piccolo-admin takes about a second to build its models."""
        if not built:
            from api.pages.admin_wiring import admin_app as build  # FastAPI: imported when used

            built.append(build(production=production, allowed_hosts=[host] if production else []))
        return built[0]

    @asgi(
        "/admin",
        is_mount=True,
        copy_scope=True,
        guards=ADMIN_ONLY,
        exception_handlers=PAGE_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        # The SPA loads "./assets/…" relative to its URL, so "/admin" must become "/admin/".
        fields = cast("dict[str, Any]", scope)
        if fields["type"] == "http" and fields.get("raw_path", b"").rstrip(b"?") == b"/admin":
            moved: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 308,
                "headers": [(b"location", b"/admin/")],
            }
            empty: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": b"",
                "more_body": False,
            }
            await send(moved)
            await send(empty)
            return
        if fields["type"] == "http" and fields.get("path") == TABLE_LABELS_PATH:
            await _send_table_labels(send)
            return
        app = admin_app()
        _let_edits_through_the_catalogue(scope)
        await app(scope, receive, relabelling(scope, send))

    return admin


TABLE_LABELS_PATH = "/api/table-labels/"


async def _send_table_labels(send: Send) -> None:
    from api.pages.admin_wiring import table_names

    labels = table_labels(table_names())
    body = json.dumps(labels, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 200,
        "headers": headers,
    }
    await send(start)
    labelled: HTTPResponseBodyEvent = {
        "type": "http.response.body",
        "body": body,
        "more_body": False,
    }
    await send(labelled)


def _let_edits_through_the_catalogue(scope: Scope) -> None:
    """A reward edited in the admin is changed by the same catalogue call as the API's
    PATCH /api/v1/rewards/{id}, by the signed-in admin (api/pages/admin_wiring.py)."""
    from api.pages.admin_wiring import REWARD_CHANGE_KEY

    principal, services = scope["user"], scope["litestar_app"].state.services

    async def change_reward(reward_id: int, fields: dict[str, Any]) -> object:
        changes = reward_changes(fields)
        return await services.catalog.change(principal, str(uuid.uuid4()), reward_id, changes)

    scope[REWARD_CHANGE_KEY] = change_reward  # type: ignore[literal-required]


ADMIN_SESSION_COOKIE = "id"  # piccolo-admin's session cookie name


def admin_session_cookie(token: str, settings: Settings) -> dict[str, Any]:
    return {
        "key": ADMIN_SESSION_COOKIE,
        "value": token,
        "httponly": True,
        "samesite": "lax",
        "path": "/",
        "secure": settings.base_url.startswith("https://"),
        "max_age": 7 * 24 * 3600,
    }
