"""Rate limits on a real three-master Redis Cluster (GREENLEDGER_REDIS_CLUSTER=1), through the
app: a real 429 from counters in the cluster, and, when a master dies, neither a 500 nor a
limit silently off (each worker counts in memory until the cluster is back).

The cluster: the `redis_cluster` fixture (tests/conftest.py) and, for the fault, one of the
test's own (tests/past_one_box.py). Boards and the projector on the cluster:
tests/integration/test_redis_cluster.py.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio.cluster import RedisCluster

from api.app import create_app
from api.settings import Settings
from ledger.projections.limits import limit_key
from tests.api.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, assert_error, sign_in
from tests.past_one_box import RedisClusterProcesses, need

FALLBACK_WARNING = "rate limits counted per worker while Redis fails"


def _on_cluster(settings: Settings, url: str, per_minute: int) -> Settings:
    return dataclasses.replace(
        settings,
        rate_limit_per_minute=per_minute,
        redis_url=url,
        redis_cluster=True,
        redis_prefix=f"glc{uuid.uuid4().hex[:6]}",  # the session's cluster outlives each test
    )


async def test_a_signed_in_caller_past_the_limit_gets_a_real_429_from_the_cluster(
    admin_user: None,
    settings: Settings,
    redis_cluster: RedisClusterProcesses,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A signed-in request counts its address and its user in one Lua call, which on a
    cluster needs both keys in one slot (both carry `{limit}`)."""
    limited = _on_cluster(settings, redis_cluster.url, per_minute=6)
    with caplog.at_level(logging.WARNING):
        async with AsyncTestClient(app=create_app(limited)) as client:
            headers = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)  # the address: 1
            replies = [await client.get("/api/v1/me", headers=headers) for _ in range(7)]
    assert [r.status_code for r in replies] == [200] * 5 + [429] * 2
    assert_error(replies[-1], 429, "rate_limited")
    assert FALLBACK_WARNING not in caplog.text  # counted by the cluster, not per worker

    cluster = RedisCluster.from_url(redis_cluster.url)
    try:
        prefix = limited.redis_prefix
        assert int(await cluster.get(limit_key(prefix, "addr:testclient"))) == 8
        assert int(await cluster.get(limit_key(prefix, "user:1"))) == 5  # refused: not counted
    finally:
        await cluster.aclose()


async def test_a_dead_cluster_node_neither_gives_500_nor_turns_the_limits_off(
    admin_user: None, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    need("redis-server", "redis-cli")
    cluster = RedisClusterProcesses()
    try:
        cluster.start()
        limited = _on_cluster(settings, cluster.url, per_minute=4)
        async with AsyncTestClient(app=create_app(limited)) as client:
            headers = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
            # The master of the counters' slot dies; nothing takes its slots over.
            cluster.kill(cluster.port_of_key(limit_key(limited.redis_prefix, "addr:testclient")))
            with caplog.at_level(logging.WARNING):
                signed_in = [await client.get("/api/v1/me", headers=headers) for _ in range(5)]
                anonymous = await client.get("/api/v1/leaderboards/redblack?community_id=1")
            health = await client.get("/health")
    finally:
        cluster.stop()
    # This worker counts from 0 in memory: 4 allowed, then refused; never a 500. (Each call
    # to the dead node costs redis-py's retries, ~0.4 s, until the cluster fails over.)
    assert [r.status_code for r in signed_in] == [200] * 4 + [429]
    assert_error(anonymous, 429, "rate_limited")
    assert FALLBACK_WARNING in caplog.text
    assert health.status_code == 200
