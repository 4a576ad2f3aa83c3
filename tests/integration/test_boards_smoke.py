"""A first walk through the boards: Redis and SQL answer the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from ledger.domain.access import SYSTEM, Role
from ledger.domain.leaderboard import Board, Period
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Stream
from ledger.services.boards import differences
from ledger.services.container import Services
from ledger.services.grading import Grading
from tests.conftest import REDIS_URL
from tests.factories import FrozenClock, event_id, make_household, make_user, make_world

pytestmark = pytest.mark.redis


@pytest.fixture
async def with_redis(services: Services, redis: Redis) -> AsyncIterator[Services]:
    built = Services.build(
        services.codes.keyring,
        "http://testserver",
        clock=services.clock,
        redis=Redis.from_url(REDIS_URL),
        redis_prefix="gltest",
    )
    yield built
    assert built.projector is not None
    await built.projector.boards.redis.aclose()


async def test_boards_from_redis_equal_sql(with_redis: Services, clock: FrozenClock) -> None:
    services = with_redis
    clock.moment = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    world = await make_world(services)
    point = await services.registry.create_point(SYSTEM, event_id(), world.compound_id, "1号点", [])
    inspector = await make_user(
        services, Role.INSPECTOR, compound_ids=frozenset({world.compound_id})
    )
    other = await make_household(services, world.compound_id, building="5")
    for token, grade in ((world.card_token, Grade.GOOD), (other.card_token, Grade.FAIR)):
        await services.gradings.inspect(
            inspector, Grading(event_id(), token, point.token, Stream.KITCHEN, grade, [], None)
        )
    await services.sealer.seal_all()
    assert services.projector is not None
    await services.projector.catch_up()
    day = local_day(clock.now())
    board = await services.boards.leaderboard(
        Board.HOUSEHOLDS, Period.DAY, world.compound_id, 10, day
    )
    assert board.source == "redis"
    assert [(item.rank, item.value) for item in board.items] == [(1, 10), (2, 5)]
    assert await differences(services.projector.boards, day) == []
    replay = await services.projector.rebuild()
    assert replay > 0
    assert await differences(services.projector.boards, day) == []
