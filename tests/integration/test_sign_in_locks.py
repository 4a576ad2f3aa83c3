"""Wrong passwords lock one (username, client address), with growing delays, under a
per-username ceiling; each guess is counted before argon2 checks it. Every test runs on the
embedded limiter and on Redis (the one several workers share)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from redis.asyncio import Redis

from api.settings import Settings
from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import InvalidCredentials
from ledger.services import limits, users
from ledger.services.container import Services
from ledger.services.limits import SignInLocked
from ledger.services.users import LoginRequest
from tests.conftest import REDIS_UP, REDIS_URL, REQUIRE_SERVICES
from tests.factories import FrozenClock

PASSWORD = "right-password-2026"
WRONG = "wrong-password"
HERE, THERE = "203.0.113.5", "198.51.100.7"


class CountingHasher(PasswordHasher):
    """A cheap argon2 that counts how many passwords it was asked to check."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checked = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.checked += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(users, "_HASHER", counting)
    monkeypatch.setattr(users, "_DUMMY_HASH", counting.hash("not a real password"))
    return counting


@pytest.fixture(params=["memory", "redis"])
async def guarded(
    request: pytest.FixtureRequest,
    fresh_db: None,
    settings: Settings,
    clock: FrozenClock,
    hasher: CountingHasher,
) -> AsyncIterator[Services]:
    """Services with one user, `alice` (hashed cheaply), on either limiter."""
    redis = None
    if request.param == "redis":
        if not REDIS_UP:
            if REQUIRE_SERVICES:
                pytest.fail(
                    "Redis is required (GREENLEDGER_REQUIRE_SERVICES=1) but 127.0.0.1:6379 is down"
                )
            pytest.skip("no Redis on 127.0.0.1:6379")
        redis = Redis.from_url(REDIS_URL)
    prefix = f"gllock{random.randrange(10**9)}"
    services = Services.build(
        settings.keyring(), settings.base_url, clock=clock, redis=redis, redis_prefix=prefix
    )
    await services.db.start()
    await services.users.create(SYSTEM, "lock-user-1", LoginRequest("alice", PASSWORD, Role.ADMIN))
    try:
        yield services
    finally:
        await services.db.close()
        if redis is not None:
            async for key in redis.scan_iter(match=f"{prefix}:*"):
                await redis.delete(key)
            await redis.aclose()


async def guess(services: Services, address: str, password: str = WRONG) -> str:
    try:
        await services.users.sign_in("alice", password, address)
    except InvalidCredentials:
        return "wrong"
    except SignInLocked:
        return "locked"
    return "signed in"


async def test_five_wrong_guesses_lock_that_address_and_not_another(
    guarded: Services, hasher: CountingHasher
) -> None:
    assert [await guess(guarded, HERE) for _ in range(5)] == ["wrong"] * 5
    assert await guess(guarded, HERE, PASSWORD) == "locked"
    assert await guess(guarded, THERE, PASSWORD) == "signed in"
    assert hasher.checked == 6, "the locked guess was refused without checking the password"


async def test_the_delay_doubles_with_each_further_wrong_guess(
    guarded: Services, clock: FrozenClock, hasher: CountingHasher
) -> None:
    for _ in range(5):
        await guess(guarded, HERE)
    clock.advance(seconds=59)
    assert await guess(guarded, HERE) == "locked"
    clock.advance(seconds=1)
    assert await guess(guarded, HERE) == "wrong"  # the 6th guess, after 60 s
    clock.advance(seconds=119)
    assert await guess(guarded, HERE) == "locked"
    clock.advance(seconds=1)
    assert await guess(guarded, HERE, PASSWORD) == "signed in"  # after 120 s more
    assert await guess(guarded, HERE) == "wrong", "a good password cleared the address's count"


async def test_the_username_ceiling_slows_guesses_spread_over_many_addresses(
    guarded: Services, clock: FrozenClock, hasher: CountingHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = dataclasses.replace(limits.SIGN_IN_POLICIES["password"], ceiling_per_hour=12)
    monkeypatch.setitem(users.SIGN_IN_POLICIES, "password", small)
    for n in range(12):
        assert await guess(guarded, f"192.0.2.{n}") == "wrong"
    assert await guess(guarded, "192.0.2.200", PASSWORD) == "locked"
    assert hasher.checked == 12
    clock.advance(hours=1)
    assert await guess(guarded, "192.0.2.200", PASSWORD) == "signed in"


async def test_simultaneous_wrong_guesses_are_counted_before_any_is_checked(
    guarded: Services, hasher: CountingHasher
) -> None:
    outcomes = await asyncio.gather(*(guess(guarded, HERE) for _ in range(60)))
    assert hasher.checked == limits.SIGN_IN_POLICIES["password"].free_failures == 5
    assert sorted(outcomes) == ["locked"] * 55 + ["wrong"] * 5


async def test_an_unlock_lifts_every_lock_on_the_name(
    guarded: Services, hasher: CountingHasher
) -> None:
    for _ in range(5):
        await guess(guarded, HERE)
    assert await guess(guarded, HERE, PASSWORD) == "locked"
    await guarded.users.unlock_name("alice")
    assert await guess(guarded, HERE, PASSWORD) == "signed in"


def test_each_account_kind_has_its_own_ceiling() -> None:
    policy: Any = limits.SIGN_IN_POLICIES["password"]
    assert policy.ceiling_per_hour == 100
    assert [policy.delay_after(n) for n in (4, 5, 6, 7, 20)] == [0, 60, 120, 240, 3600]


async def test_with_redis_down_each_worker_still_locks(
    fresh_db: None, settings: Settings, clock: FrozenClock, hasher: CountingHasher
) -> None:
    down = Services.build(
        settings.keyring(),
        settings.base_url,
        clock=clock,
        redis=Redis.from_url("redis://127.0.0.1:1/0"),  # nothing listens there
    )
    await down.users.create(SYSTEM, "lock-user-2", LoginRequest("alice", PASSWORD, Role.ADMIN))
    assert [await guess(down, HERE) for _ in range(5)] == ["wrong"] * 5
    assert await guess(down, HERE, PASSWORD) == "locked"
    assert await guess(down, THERE, PASSWORD) == "signed in"
