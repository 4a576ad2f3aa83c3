"""The Redis client: one server, or a Redis Cluster (GREENLEDGER_REDIS_CLUSTER=1).

On a cluster, every Lua call and MULTI must keep its keys in one hash slot: the boards' keys
share the tag `{c<community>}` (ledger/domain/leaderboard.py), the rate-limit counters the tag
`{limit}` (ledger/projections/limits.py); every other call names one key.
"""

from __future__ import annotations

from typing import TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisClusterException, RedisError

AnyRedis: TypeAlias = Redis | RedisCluster

# What a failing Redis raises. On a cluster, redis-py raises RedisClusterException, which is
# not a RedisError, when no node answers or a slot has no node (and for a call whose keys span
# slots, which the tags above rule out): caught where RedisError is, it degrades like an outage.
REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError)

# redis-py's cluster client retries a call to a dead node 10 times, backing off up to 1 s:
# ~0.5 s a call, on the request path, for every request while a master fails over. Everything
# here degrades when Redis fails (limits per worker, boards from SQL, the projector waits and
# catches up), so a call gives up after 2 quick retries (~0.05-0.15 s) instead.
CLUSTER_RETRIES = 2
CLUSTER_BACKOFF_CAP_SECONDS = 0.1


def connect_redis(url: str | None, cluster: bool = False) -> AnyRedis | None:
    """A client for `url` (None without one); it connects at its first command."""
    if url is None:
        return None
    if cluster:
        backoff = ExponentialWithJitterBackoff(base=0.01, cap=CLUSTER_BACKOFF_CAP_SECONDS)
        return RedisCluster.from_url(url, retry=Retry(backoff, CLUSTER_RETRIES))
    return Redis.from_url(url)
