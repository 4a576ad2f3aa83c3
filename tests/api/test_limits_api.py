"""Rate limits hold across worker processes; sign-in brute force is locked out."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, assert_error
from tests.conftest import ENGINE, REDIS_URL


async def _statuses(client: AsyncTestClient[Any], count: int) -> list[int]:
    return [
        (await client.get("/api/v1/leaderboards/redblack?community_id=1")).status_code
        for _ in range(count)
    ]


async def test_an_address_past_its_limit_gets_429_with_retry_after(
    admin_user: None, settings: Settings
) -> None:
    limited = dataclasses.replace(settings, rate_limit_per_minute=5)
    async with AsyncTestClient(app=create_app(limited)) as client:
        statuses = await _statuses(client, 7)
        assert statuses[:5] == [404] * 5
        assert statuses[5:] == [429, 429]
        refused = await client.get("/api/v1/leaderboards/redblack?community_id=1")
        body = assert_error(refused, 429, "rate_limited")
        assert "try again" in body["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await client.get("/health")).status_code == 200


@pytest.mark.redis
@pytest.mark.skipif(
    ENGINE == "postgres",
    reason="two apps in one process cannot share one PostgreSQL pool across their event loops; "
    "the limiter is the same on both engines, and tests/chaos runs real worker processes",
)
async def test_the_limit_holds_across_two_worker_processes(
    admin_user: None, settings: Settings, redis: object
) -> None:
    """Two app instances (as two workers would be) share one Redis counter: 10 in all."""
    shared = dataclasses.replace(
        settings,
        rate_limit_per_minute=10,
        redis_url=REDIS_URL,
        redis_prefix=f"limits{uuid.uuid4().hex[:6]}",
    )
    async with (
        AsyncTestClient(app=create_app(shared)) as first,
        AsyncTestClient(app=create_app(shared)) as second,
    ):
        statuses = []
        for _ in range(8):
            statuses += await _statuses(first, 1) + await _statuses(second, 1)
    print(f"two workers, limit 10: {statuses.count(404)} allowed, {statuses.count(429)} limited")
    assert statuses.count(404) == 10
    assert statuses.count(429) == 6


async def test_repeated_wrong_passwords_lock_the_username(api: Any) -> None:
    client, _ = api
    for _ in range(5):
        wrong = await client.post(
            "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": "guess-123"}
        )
        assert_error(wrong, 401, "invalid_credentials")
    locked = await client.post(
        "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert_error(locked, 429, "sign_in_locked")


async def test_a_good_password_clears_earlier_failures(api: Any) -> None:
    client, _ = api
    for _ in range(4):
        await client.post(
            "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": "guess-123"}
        )
    good = await client.post(
        "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert good.status_code == 200
    for _ in range(4):
        await client.post(
            "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": "guess-123"}
        )
    again = await client.post(
        "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert again.status_code == 200


async def test_requests_with_bad_tokens_are_counted_too(
    admin_user: None, settings: Settings
) -> None:
    """The address limit runs before authentication: forged tokens cannot probe for free."""
    limited = dataclasses.replace(settings, rate_limit_per_minute=4)
    async with AsyncTestClient(app=create_app(limited)) as client:
        forged = {"Authorization": "Bearer not.a.token"}
        statuses = [(await client.get("/api/v1/me", headers=forged)).status_code for _ in range(6)]
    print(f"forged tokens, limit 4: {statuses}")
    assert statuses == [401, 401, 401, 401, 429, 429]


async def test_volunteer_applications_are_limited_per_address_below_the_general_limit(
    admin_user: None, settings: Settings
) -> None:
    """Anyone may apply signed out: PUBLIC_WRITES_PER_ADDRESS_PER_MINUTE a minute per address
    (the API and the page count together), far below the general limit; reads go on."""
    from api.limits import PUBLIC_WRITES_PER_ADDRESS_PER_MINUTE as allowed

    limited = dataclasses.replace(settings, rate_limit_per_minute=100)
    async with AsyncTestClient(app=create_app(limited)) as client:
        statuses = []
        for n in range(allowed + 2):
            body = {
                "event_id": str(uuid.uuid4()),
                "community_id": 999,
                "name": "朱秀娟",
                "phone": f"1390000{n:04d}",
                "pin": "582039",
            }
            statuses.append(
                (await client.post("/api/v1/volunteers/applications", json=body)).status_code
            )
        assert statuses[:allowed] == [404] * allowed  # no such community, but counted
        assert statuses[allowed:] == [429, 429]
        page = await client.post("/volunteer/apply", data={"event_id": "x"})
        assert page.status_code == 429
        assert (await client.get("/api/v1/leaderboards/redblack?community_id=1")).status_code == 404
