"""Boards and the projector's exactly-once apply on a real three-master Redis Cluster
(GREENLEDGER_REDIS_CLUSTER=1), started by the `redis_cluster` fixture (tests/conftest.py).

The rate limits on the cluster, through the app: tests/api/test_redis_cluster_limits.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio.cluster import RedisCluster

from ledger.domain.access import SYSTEM, Role
from ledger.domain.leaderboard import Board, Keys, Period
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Stream
from ledger.projections.client import connect_redis
from ledger.projections.limits import RedisLimiter
from ledger.services.boards import differences
from ledger.services.container import Services
from ledger.services.grading import Grading
from tests.factories import FrozenClock, event_id, make_household, make_user, make_world
from tests.past_one_box import RedisClusterProcesses


@pytest.fixture
async def on_cluster(
    services: Services, redis_cluster: RedisClusterProcesses
) -> AsyncIterator[Services]:
    client = connect_redis(redis_cluster.url, cluster=True)
    assert isinstance(client, RedisCluster)
    built = Services.build(
        services.codes.keyring,
        "http://testserver",
        clock=services.clock,
        redis=client,
        redis_prefix=f"glc{uuid.uuid4().hex[:6]}",  # the cluster outlives each test
    )
    yield built
    await client.aclose()


async def _two_communities_graded(services: Services) -> list[Any]:
    worlds = []
    for name in ("卖鱼桥社区", "米市巷社区"):
        world = await make_world(services, community=name)
        point = await services.registry.create_point(
            SYSTEM, event_id(), world.compound_id, "1号点", []
        )
        inspector = await make_user(
            services, Role.INSPECTOR, compound_ids=frozenset({world.compound_id})
        )
        other = await make_household(services, world.compound_id, building="5")
        for token, grade in ((world.card_token, Grade.GOOD), (other.card_token, Grade.FAIR)):
            await services.gradings.inspect(
                inspector,
                Grading(event_id(), token, point.token, Stream.KITCHEN, grade, [], None),
            )
        worlds.append(world)
    await services.sealer.seal_all()
    return worlds


async def test_boards_on_the_cluster_equal_sql_and_apply_exactly_once(
    on_cluster: Services, clock: FrozenClock, redis_cluster: RedisClusterProcesses
) -> None:
    services = on_cluster
    assert services.projector is not None
    clock.moment = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    worlds = await _two_communities_graded(services)
    facts = await services.projector.catch_up()
    assert facts > 0
    day = local_day(clock.now())
    for world in worlds:
        board = await services.boards.leaderboard(
            Board.HOUSEHOLDS, Period.DAY, world.compound_id, 10, day
        )
        assert board.source == "redis"
        assert [(item.rank, item.value) for item in board.items] == [(1, 10), (2, 5)]
    boards = services.projector.boards
    assert await differences(boards, day) == []

    # Replaying every fact (a crashed projector, a second one) changes nothing: each
    # community's Lua apply and its watermark share the community's slot.
    assert await services.projector.catch_up(start=0) == facts
    assert await differences(boards, day) == []
    prefix = boards.prefix
    slots = {
        redis_cluster.port_of_key(Keys(prefix, w.community_id).applied_through()) for w in worlds
    }
    print(f"two communities' boards on cluster nodes {sorted(slots)}")

    # A rebuild scans every master for the board keys, then replays.
    assert await services.projector.rebuild() == facts
    assert await differences(boards, day) == []


async def test_a_rate_limit_call_with_an_address_and_a_user_key_stays_in_one_slot(
    redis_cluster: RedisClusterProcesses,
) -> None:
    """Every limit key carries `{limit}`: the one Lua call that counts an address and a user
    together (api/limits.py) is not refused as cross-slot, and the keys are on one node."""
    client = connect_redis(redis_cluster.url, cluster=True)
    assert isinstance(client, RedisCluster)
    try:
        limiter = RedisLimiter(client, f"glc{uuid.uuid4().hex[:6]}")
        keys = [limiter.key("addr:203.0.113.9"), limiter.key("user:7")]
        assert len({redis_cluster.port_of_key(key) for key in keys}) == 1
        assert await limiter.hit("addr:203.0.113.9", 60) == (1, 60)
        assert (await limiter.take("user:7", 60, 3, 2))[0] == 2
        assert await limiter.count("user:7") == 3
    finally:
        await client.aclose()
