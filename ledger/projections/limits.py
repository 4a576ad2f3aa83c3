"""Rate-limit counters in Redis: one atomic script per hit, so the limit holds across every
worker process (Litestar's own limiter reads, checks and writes in three steps)."""

from __future__ import annotations

from redis.asyncio import Redis

_HIT = """
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {hits, ttl}
"""


class RedisLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        hits, ttl = await self._hit(keys=[self._key(key)], args=[window_seconds])
        return int(hits), int(ttl)

    async def count(self, key: str) -> int:
        value = await self.redis.get(self._key(key))
        return int(value) if value is not None else 0

    async def reset(self, key: str) -> None:
        await self.redis.delete(self._key(key))

    def _key(self, key: str) -> str:
        return f"{self.prefix}:limit:{key}"
