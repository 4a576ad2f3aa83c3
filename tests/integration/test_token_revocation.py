"""Revocation reaches another worker within LOCAL_SECONDS through the Redis mirror, and holds
while Redis is down (the database answers). Two Services stand for two worker processes: each
has its own local cache and Redis connection, and they share the database and Redis."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from redis.asyncio import Redis

from api.settings import Settings
from ledger.domain.access import SYSTEM, Role
from ledger.services import users
from ledger.services.container import Services
from ledger.services.sessions import LOCAL_SECONDS, TokenState
from ledger.services.users import LoginRequest
from tests.conftest import REDIS_URL
from tests.factories import FrozenClock

pytestmark = pytest.mark.redis
PASSWORD = "right-password-2026"


@dataclass
class Ticks:
    """A monotonic clock moved by hand, for one worker's local cache."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Workers:
    a: Services
    b: Services
    b_ticks: Ticks
    user_id: int
    version: int


@pytest.fixture
async def workers(
    fresh_db: None, settings: Settings, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Workers]:
    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    prefix = f"gltok{random.randrange(10**9)}"
    built = []
    for _ in range(2):
        services = Services.build(
            settings.keyring(),
            settings.base_url,
            clock=clock,
            redis=Redis.from_url(REDIS_URL),
            redis_prefix=prefix,
        )
        built.append(services)
    a, b = built
    await a.db.start()  # on PostgreSQL the engine has one pool; b queries without it
    ticks = Ticks()
    b.sessions.monotonic = ticks
    created = await a.users.create(SYSTEM, "tok-1", LoginRequest("clerk", PASSWORD, Role.CLERK))
    signed_in = await a.users.sign_in("clerk", PASSWORD, "203.0.113.5")
    try:
        yield Workers(a, b, ticks, created.id, signed_in.token_version)
    finally:
        await a.db.close()
        redis = Redis.from_url(REDIS_URL)
        async for key in redis.scan_iter(match=f"{prefix}:*"):
            await redis.delete(key)
        await redis.aclose()
        for services in built:
            assert services.sessions.redis is not None
            await services.sessions.redis.aclose()


async def test_a_deactivation_on_one_worker_reaches_the_other_within_seconds(
    workers: Workers,
) -> None:
    w = workers
    assert await w.b.sessions.admits(w.user_id, w.version, "session-1")
    await w.a.users.deactivate(SYSTEM, "tok-2", w.user_id)
    assert not await w.a.sessions.admits(w.user_id, w.version, "session-1")
    w.b_ticks.now += LOCAL_SECONDS
    assert not await w.b.sessions.admits(w.user_id, w.version, "session-1")


async def test_a_sign_out_on_one_worker_ends_that_session_on_the_other(
    workers: Workers, clock: FrozenClock
) -> None:
    w = workers
    assert await w.b.sessions.admits(w.user_id, w.version, "session-1")
    expires = clock.now() + timedelta(hours=12)
    await w.a.sessions.sign_out(w.user_id, "session-1", expires)
    w.b_ticks.now += LOCAL_SECONDS
    assert not await w.b.sessions.admits(w.user_id, w.version, "session-1")
    assert await w.b.sessions.admits(w.user_id, w.version, "session-2")
    clock.advance(hours=12)
    w.b_ticks.now += LOCAL_SECONDS
    assert await w.b.sessions.admits(w.user_id, w.version, "session-1"), (
        "kept only until the token would have expired anyway (then its `exp` refuses it)"
    )


async def test_an_older_state_never_overwrites_a_newer_one_in_the_mirror(
    workers: Workers,
) -> None:
    """A worker that read the database before a change and writes the mirror after it."""
    w = workers
    await w.a.users.change(SYSTEM, "tok-3", w.user_id, Role.INSPECTOR, None)
    await w.b.sessions._write_mirror(w.user_id, w.version, {})
    w.b_ticks.now += LOCAL_SECONDS
    assert not await w.b.sessions.admits(w.user_id, w.version, "session-1")
    assert await w.b.sessions.admits(w.user_id, w.version + 1, "session-1")


async def test_with_redis_down_the_database_answers_and_revocation_holds(
    workers: Workers, settings: Settings, clock: FrozenClock
) -> None:
    w = workers
    down = Services.build(
        settings.keyring(),
        settings.base_url,
        clock=clock,
        redis=Redis.from_url("redis://127.0.0.1:1/0"),  # nothing listens there
    )
    assert await down.sessions.admits(w.user_id, w.version, "session-1")
    await down.users.deactivate(SYSTEM, "tok-4", w.user_id)  # the mirror cannot be told
    assert not await down.sessions.admits(w.user_id, w.version, "session-1")
    assert down.sessions.redis is not None
    await down.sessions.redis.aclose()


async def test_requests_that_miss_the_local_copy_together_share_one_read(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every LOCAL_SECONDS a busy user's requests in flight all miss the local copy: they wait
    for one read of the mirror, not one each."""
    w = workers
    reads: list[int] = []
    original = w.b.sessions._shared

    async def counted(user_id: int) -> TokenState:
        reads.append(user_id)
        return await original(user_id)

    monkeypatch.setattr(w.b.sessions, "_shared", counted)
    answers = await asyncio.gather(
        *(w.b.sessions.admits(w.user_id, w.version, "session-1") for _ in range(20))
    )
    assert answers == [True] * 20
    assert reads == [w.user_id]
    w.b_ticks.now += LOCAL_SECONDS
    assert await w.b.sessions.admits(w.user_id, w.version, "session-1")
    assert reads == [w.user_id, w.user_id]  # the copy expired: read again


async def test_a_read_in_flight_when_a_change_is_published_is_not_shared_after_it(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that arrives after this worker published a revocation never waits for a
    read that began before it, and that read's (older) state is not kept."""
    w = workers
    original = w.b.sessions._shared
    release = asyncio.Event()

    async def slow(user_id: int) -> TokenState:
        state = await original(user_id)
        await release.wait()
        return state

    monkeypatch.setattr(w.b.sessions, "_shared", slow)
    before = asyncio.ensure_future(w.b.sessions.admits(w.user_id, w.version, "session-1"))
    await asyncio.sleep(0.05)  # the read has its (old) state and waits
    await w.b.users.deactivate(SYSTEM, "tok-3", w.user_id)  # published on worker b
    monkeypatch.setattr(w.b.sessions, "_shared", original)
    assert not await w.b.sessions.admits(w.user_id, w.version, "session-1")
    release.set()
    assert await before  # it arrived before the change, and answers as it would have
    assert w.b.sessions.known(w.user_id) is not None
    assert not w.b.sessions.known(w.user_id).admits(w.version, "session-1")
