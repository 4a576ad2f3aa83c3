"""Signing in and reading the registry through the API, with the chaos clients' retries."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.chaos.load import Request, send

DEMO_PASSWORD = "demo-pass-2026"  # api/cli.py: what seed-demo gives every login
USER_PASSWORD = "chaos-user-password-2026"
PAGE = 500


def new_event_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    outcome = await send(
        client, Request("/api/v1/auth/token", {"username": username, "password": password}, {})
    )
    assert outcome.status == "ok", (username, outcome)
    assert outcome.reply is not None
    return {"Authorization": f"Bearer {outcome.reply['access_token']}"}


async def created(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST with a fresh event_id (retried with that id) and expect it acknowledged."""
    outcome = await send(
        client, Request(path, {"event_id": new_event_id("setup"), **body}, headers)
    )
    assert outcome.status == "ok", (path, body, outcome)
    assert outcome.reply is not None
    return outcome.reply


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, **filters: Any
) -> list[dict[str, Any]]:
    """Every item of a registry list, page by page (bounded: at most 100 pages)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _page in range(100):
        params = {"limit": PAGE, **filters, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path} has more than 100 pages")


async def get_json(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()
