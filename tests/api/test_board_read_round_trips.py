"""A top-10 board read is one Redis round trip: the request's rate-limit counters ride in the
pipeline of the board's read (api/limits.py, Riding; ledger/projections/limits.py,
PendingHits), counted exactly as when they went first on their own. Round trips are counted
on a real Redis, at the connection: every `send_packed_command` is one (a pipeline sends its
commands in one)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

from api.app import create_app
from api.settings import Settings
from bench.common import CaptureStatements
from ledger.domain.access import SYSTEM, Role
from ledger.domain.rules import Grade, Stream
from ledger.projections.limits import limit_key
from ledger.services import boards as boards_service
from ledger.services.container import Services
from ledger.services.grading import Grading
from tests.api.conftest import assert_error
from tests.conftest import REDIS_URL
from tests.factories import FrozenClock, event_id, make_user, make_world
from tests.integration.redis_process import RedisProcess

pytestmark = pytest.mark.redis
PER_MINUTE = 5
DAY = "2026-11-25"


@dataclasses.dataclass(frozen=True)
class Town:
    client: AsyncTestClient[Any]
    prefix: str
    community_id: int
    compound_id: int
    household_id: int
    sends: list[list[str]]  # each round trip's commands, in order


async def _graded_and_projected(settings: Settings, prefix: str) -> tuple[int, int, int]:
    """One household graded once (10 points on its compound's board), projected to Redis."""
    redis = Redis.from_url(settings.redis_url)
    services = Services.build(
        settings.keyring(), settings.base_url, clock=FrozenClock(), redis=redis, redis_prefix=prefix
    )
    await services.db.start()
    try:
        world = await make_world(services)
        point = await services.registry.create_point(
            SYSTEM, event_id(), world.compound_id, "1号点", []
        )
        inspector = await make_user(
            services, Role.INSPECTOR, compound_ids=frozenset({world.compound_id})
        )
        await services.gradings.inspect(
            inspector,
            Grading(
                event_id(), world.card_token, point.token, Stream.KITCHEN, Grade.GOOD, [], None
            ),
        )
        await services.sealer.seal_all()
        assert services.projector is not None
        await services.projector.catch_up()
        return world.community_id, world.compound_id, world.household_id
    finally:
        await services.db.close()
        await redis.aclose()


@pytest.fixture
async def town(
    admin_user: None, settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Town]:
    async for town in _town(settings, REDIS_URL, monkeypatch):
        yield town


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    """A redis-server of the test's own: what it does to the server (SCRIPT FLUSH) reaches no
    other test, not even one of another pass running at the same time."""
    server = RedisProcess()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def private_town(
    admin_user: None,
    settings: Settings,
    private_redis: RedisProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Town]:
    async for town in _town(settings, private_redis.url, monkeypatch):
        yield town


async def _town(
    settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Town]:
    prefix = f"glrt{uuid.uuid4().hex[:8]}"
    limited = dataclasses.replace(
        settings,
        rate_limit_per_minute=PER_MINUTE,
        redis_url=redis_url,
        redis_prefix=prefix,
        run_sealer=False,  # nothing but the requests talks to Redis
    )
    ids = await _graded_and_projected(limited, prefix)
    sends: list[list[str]] = []
    original = AbstractConnection.send_packed_command

    async def counted(connection: Any, command: Any, check_health: bool = True) -> None:
        sends.append(_names(command))
        await original(connection, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    async with AsyncTestClient(app=create_app(limited, clock=FrozenClock())) as client:
        yield Town(client, prefix, *ids, sends)


def _names(command: Any) -> list[str]:
    """The command names in one packed send (RESP arrays: `*n`, then `$len` and the name)."""
    parts = [command] if isinstance(command, bytes | bytearray | str) else list(command)
    text = b"".join(p.encode() if isinstance(p, str) else bytes(p) for p in parts)
    lines = text.split(b"\r\n")
    return [lines[i + 2].decode().upper() for i, line in enumerate(lines[:-2]) if line[:1] == b"*"]


async def _read(town: Town, **params: Any) -> Any:
    query = {"board": "households", "scope_id": town.compound_id, "day": DAY} | params
    return await town.client.get("/api/v1/leaderboards", params=query)


async def test_a_board_read_is_one_redis_round_trip_with_its_rate_limit(town: Town) -> None:
    await _read(town)  # the first read of a process looks up the compound's community once
    town.sends.clear()
    response = await _read(town)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "redis"
    assert [(i["rank"], i["id"], i["value"]) for i in body["items"]] == [
        (1, str(town.household_id), 10)
    ]
    # One round trip: the limiter's script, then the projector's cursor and the top.
    assert town.sends == [["EVALSHA", "GET", "EVALSHA"]]


@pytest.mark.postgres
async def test_a_board_read_sends_no_sql_once_the_facts_head_is_known(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The labels come from the projection with the scores; the facts' head (what the cursor
    is compared with) is read at most once a second per process, here once for the test."""
    monkeypatch.setattr(boards_service, "HEAD_MAX_AGE_SECONDS", 3600)
    await _read(town)
    with CaptureStatements() as capture:
        response = await _read(town)
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["label"].endswith("***室")
    assert capture.statements == []


async def test_the_limit_holds_exactly_and_refuses_with_retry_after(
    town: Town, redis: Redis
) -> None:
    statuses = [(await _read(town)).status_code for _ in range(PER_MINUTE + 2)]
    assert statuses == [200] * PER_MINUTE + [429, 429]
    refused = await _read(town)
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert int(await redis.get(limit_key(town.prefix, "addr:testclient"))) == PER_MINUTE + 3


async def test_a_read_refused_before_the_redis_read_is_counted_and_limited(
    town: Town, redis: Redis
) -> None:
    """A 400 (bad query), a 404 (unknown compound) and a board answered from SQL never reach
    the Redis read: their counters go on their own before the answer, and past the limit the
    answer is a 429."""
    bad = [
        await _read(town, limit=0),
        await _read(town, scope_id=999_999),
        await _read(town, board="compounds_accuracy", scope_id=town.community_id),
    ]
    assert [r.status_code for r in bad] == [400, 404, 200]
    assert int(await redis.get(limit_key(town.prefix, "addr:testclient"))) == 3
    statuses = [(await _read(town, limit=0)).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert_error(await _read(town, scope_id=999_999), 429, "rate_limited")
    assert int(await redis.get(limit_key(town.prefix, "addr:testclient"))) == 7


async def test_a_bearer_token_is_counted_after_the_address_in_the_same_round_trip(
    town: Town, redis: Redis
) -> None:
    headers = {"Authorization": "Bearer not-a-token"}
    await town.client.get(
        "/api/v1/leaderboards",
        params={"board": "households", "scope_id": town.compound_id, "day": DAY},
        headers=headers,
    )
    town.sends.clear()
    response = await town.client.get(
        "/api/v1/leaderboards",
        params={"board": "households", "scope_id": town.compound_id, "day": DAY},
        headers=headers,
    )
    assert response.status_code == 200
    assert town.sends == [["EVALSHA", "GET", "EVALSHA"]]
    assert int(await redis.get(limit_key(town.prefix, "addr:testclient"))) == 2
    tokens = [key async for key in redis.scan_iter(match=f"{town.prefix}:{{limit}}:token:*")]
    assert len(tokens) == 1
    assert int(await redis.get(tokens[0])) == 2


async def test_a_redis_that_forgot_the_scripts_counts_each_read_once(
    private_town: Town, private_redis: RedisProcess
) -> None:
    """NOSCRIPT: the limiter's script did not run in the pipeline, so the counters are sent
    again on their own (the script loaded anew), once; the page is read again as well."""
    town, redis = private_town, Redis.from_url(private_redis.url)
    try:
        assert (await _read(town)).status_code == 200
        await redis.script_flush()
        response = await _read(town)
        assert response.status_code == 200
        assert response.json()["source"] == "redis"
        assert int(await redis.get(limit_key(town.prefix, "addr:testclient"))) == 2
        assert (await _read(town)).status_code == 200
        assert int(await redis.get(limit_key(town.prefix, "addr:testclient"))) == 3
    finally:
        await redis.aclose()
