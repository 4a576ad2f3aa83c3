"""The app through its HTTP interface, on the test database of the current pass.

The app runs in the test client's own thread and event loop (Litestar's portal), and builds
its own Services in its lifespan; on PostgreSQL its connection pool belongs to that loop. So
the only direct database call a test makes is creating the first admin, before the app starts,
through a Services without a pool (one connection per query). Everything after that goes
through HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app, point_store_at
from api.settings import Settings
from ledger.domain.access import SYSTEM, Role
from ledger.ports import Clock
from ledger.services import users
from ledger.services.container import Services
from ledger.services.users import LoginRequest

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password-2026"
USER_PASSWORD = "user-password-2026"

Headers = dict[str, str]


def new_event_id() -> str:
    return str(uuid.uuid4())


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(client: AsyncTestClient[Any], username: str, password: str) -> Headers:
    """Sign in and return the Authorization header for the token."""
    response = await client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


async def created(
    client: AsyncTestClient[Any], headers: Headers, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST with a fresh event_id and expect 201; returns the reply."""
    response = await client.post(path, json={"event_id": new_event_id(), **body}, headers=headers)
    assert response.status_code == 201, response.text
    reply: dict[str, Any] = response.json()
    return reply


async def make_user(
    client: AsyncTestClient[Any],
    admin: Headers,
    role: Role,
    *,
    username: str | None = None,
    **fields: Any,
) -> Headers:
    """Create a user through the API and sign them in."""
    name = username or f"{role.value}-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "password": USER_PASSWORD, "role": role.value, **fields}
    await created(client, admin, "/api/v1/users", body)
    return await sign_in(client, name, USER_PASSWORD)


@dataclass(frozen=True)
class World:
    community_id: int
    compound_id: int
    household_id: int
    account_id: int
    card_token: str


async def make_world(
    client: AsyncTestClient[Any],
    admin: Headers,
    *,
    community: str = "卖鱼桥社区",
    compound: str = "信义坊",
    room: str = "301",
) -> World:
    """One community, one compound and one household, made through the API."""
    community_id = (await created(client, admin, "/api/v1/communities", {"name": community}))["id"]
    compound_id = (
        await created(
            client, admin, "/api/v1/compounds", {"community_id": community_id, "name": compound}
        )
    )["id"]
    household = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": compound_id, "building": "3", "unit": "2", "room": room},
    )
    return World(
        community_id, compound_id, household["id"], household["account_id"], household["card_token"]
    )


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its production cost takes about 0.13 s a hash; these tests are not about it.

    The unknown-user path still verifies against the production-cost dummy hash.
    """
    monkeypatch.setattr(
        users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
async def admin_user(fresh_db: None, settings: Settings) -> None:
    services = Services.build(settings.keyring(), settings.base_url)
    admin = LoginRequest(ADMIN_USERNAME, ADMIN_PASSWORD, Role.ADMIN)
    await services.users.create(SYSTEM, new_event_id(), admin)


_APPS: dict[Settings, tuple[Litestar, frozenset[str]]] = {}


def app_for(settings: Settings, clock: Clock | None = None) -> Litestar:
    """The app for these settings, built once per run and started afresh by each test.

    Building one costs ~0.4 s (Litestar checks each of its ~270 handlers), more than most
    tests. Everything a test changes lives in what the lifespan builds anew each start
    (Services, its database pool, limiters and clock, the Redis client); keys added to
    `app.state` since it was built (the per-worker limits kept while Redis fails) are dropped.
    An app on a test's own clock is built for that test alone.
    """
    if clock is not None:
        return create_app(settings, clock=clock)
    if settings not in _APPS:
        app = create_app(settings)
        _APPS[settings] = app, frozenset(app.state.keys())
    app, pristine = _APPS[settings]
    point_store_at(settings)
    for key in set(app.state.keys()) - pristine:
        del app.state[key]
    return app


@pytest.fixture
async def api(
    admin_user: None, settings: Settings, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[AsyncTestClient[Any], Headers]]:
    """The running app and an admin's Authorization header; the app reads the time from the
    test's `app_clock` fixture when it has one."""
    uses_clock = "app_clock" in request.fixturenames
    clock = request.getfixturevalue("app_clock") if uses_clock else None
    async with AsyncTestClient(app=app_for(settings, clock)) as client:
        yield client, await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
