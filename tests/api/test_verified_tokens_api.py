"""Tokens verified once are answered from a per-process cache (api/security.py): never past
their `exp`, never for a token that differs in any byte, and with the same Principal; and the
rate limiter counts such a caller's address and user in one round trip (api/limits.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import Token
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from api.app import create_app
from api.security import VerifiedTokens
from api.settings import Settings
from ledger.domain.access import Principal, Role
from ledger.projections.limits import RedisLimiter, limit_key
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    Headers,
    assert_error,
    bearer,
    sign_in,
)
from tests.conftest import REDIS_URL

Api = tuple[AsyncTestClient[Any], Headers]


def _signed(token: str, key: str, **changes: Any) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims | changes, key, algorithm="HS256")


async def test_a_cached_token_is_refused_once_it_expires(api: Api, settings: Settings) -> None:
    client, admin = api
    verified: VerifiedTokens = client.app.state.jwt_auth.verified
    key = settings.derived_key("jwt").hex()
    exp = int(time.time()) + 2
    short = _signed(admin["Authorization"].removeprefix("Bearer "), key, exp=exp)
    assert (await client.get("/api/v1/me", headers=bearer(short))).status_code == 200
    assert verified.get(short) is not None  # answered from the cache from now on
    assert (await client.get("/api/v1/me", headers=bearer(short))).status_code == 200

    await asyncio.sleep(max(exp - time.time(), 0) + 0.05)
    assert_error(await client.get("/api/v1/me", headers=bearer(short)), 401, "unauthorized")
    assert verified.get(short) is None


async def test_a_token_changed_in_one_byte_is_verified_from_scratch(api: Api) -> None:
    client, admin = api
    token = admin["Authorization"].removeprefix("Bearer ")
    assert (await client.get("/api/v1/me", headers=admin)).status_code == 200
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged = f"{header}.{payload}.{flipped}"
    assert_error(await client.get("/api/v1/me", headers=bearer(forged)), 401, "unauthorized")
    me = (await client.get("/api/v1/me", headers=admin)).json()
    assert me["role"] == "admin"


def test_entries_expire_and_the_oldest_goes_first_when_full() -> None:
    moment = [1_000.0]
    cache = VerifiedTokens(size_max=2, clock=lambda: moment[0])

    def result(exp: float, user_id: int) -> AuthenticationResult:
        token = Token(exp=datetime.now(UTC) + timedelta(hours=1), sub=str(user_id))
        token.exp = datetime.fromtimestamp(exp, UTC)  # a valid token, then its `exp` rewound
        return AuthenticationResult(Principal(user_id, f"u{user_id}", Role.ADMIN), token)

    cache.put("a", result(1_010, 1))
    cache.put("b", result(1_005, 2))
    assert cache.principal("a") == Principal(1, "u1", Role.ADMIN)
    moment[0] = 1_005.0  # PyJWT refuses a token at its `exp`
    assert cache.get("b") is None
    assert cache.get("a") is not None
    cache.put("c", result(1_020, 3))
    cache.put("d", result(1_020, 4))
    assert cache.get("a") is None  # evicted: the oldest of a full cache
    assert [cache.principal(k) is not None for k in ("c", "d")] == [True, True]


@pytest.mark.redis
async def test_a_known_token_is_counted_per_address_then_per_user_in_one_round_trip(
    admin_user: None, settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once its token is verified, a caller's address and user counters go to Redis together
    (api/limits.py), with the same counts and the same refusal as two separate round trips."""
    combined: list[list[str]] = []
    original = RedisLimiter.hit_many

    async def spy(limiter: Any, checks: list[tuple[str, int]], window_seconds: int) -> int | None:
        combined.append([key for key, _ in checks])
        return await original(limiter, checks, window_seconds)

    monkeypatch.setattr(RedisLimiter, "hit_many", spy)
    limited = dataclasses.replace(
        settings, rate_limit_per_minute=6, redis_url=REDIS_URL, redis_prefix="gltokens"
    )
    async with AsyncTestClient(app=create_app(limited)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)  # address 1
        statuses = [(await client.get("/api/v1/me", headers=admin)).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
    assert int(await redis.get(limit_key("gltokens", "addr:testclient"))) == 7
    assert (
        int(await redis.get(limit_key("gltokens", "user:1"))) == 5
    )  # the refused one never got there
    # Sign-in's two address counters went together; the first /me verified the token (one
    # round trip per stage); the other five went together, address first.
    assert combined == [
        ["addr:testclient", "signin-addr:testclient"],
        ["addr:testclient"],
        ["user:1"],
        *[["addr:testclient", "user:1"]] * 5,
    ]
