"""The Redis client: one server, or a Redis Cluster (GREENLEDGER_REDIS_CLUSTER=1).

On a cluster, every Lua call and MULTI must keep its keys in one hash slot: the boards' keys
share the tag `{c<community>}` (ledger/domain/leaderboard.py), the rate-limit counters the tag
`{limit}` (ledger/projections/limits.py); every other call names one key.
"""

from __future__ import annotations

from typing import TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

AnyRedis: TypeAlias = Redis | RedisCluster

# What a failing Redis raises. On a cluster, redis-py raises RedisClusterException, which is
# not a RedisError, when no node answers or a slot has no node (and for a call whose keys span
# slots, which the tags above rule out): caught where RedisError is, it degrades like an outage.
REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError)


def connect_redis(url: str | None, cluster: bool = False) -> AnyRedis | None:
    """A client for `url` (None without one); it connects at its first command."""
    if url is None:
        return None
    if cluster:
        return RedisCluster.from_url(url)
    return Redis.from_url(url)
