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

# Many hits at once (the events of a batch): all are counted, as single hits are counted
# past the limit too; those the window still had room for are granted.
_TAKE = """
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('INCRBY', KEYS[1], ARGV[2])
if before == 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
local granted = math.min(tonumber(ARGV[2]), math.max(0, tonumber(ARGV[3]) - before))
return {granted, ttl}
"""


class RedisLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._hit = redis.register_script(_HIT)
        self._take = redis.register_script(_TAKE)

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        hits, ttl = await self._hit(keys=[self._key(key)], args=[window_seconds])
        return int(hits), int(ttl)

    async def take(self, key: str, window_seconds: int, wanted: int, limit: int) -> tuple[int, int]:
        granted, ttl = await self._take(keys=[self._key(key)], args=[window_seconds, wanted, limit])
        return int(granted), int(ttl)

    async def count(self, key: str) -> int:
        value = await self.redis.get(self._key(key))
        return int(value) if value is not None else 0

    async def reset(self, key: str) -> None:
        await self.redis.delete(self._key(key))

    def _key(self, key: str) -> str:
        return f"{self.prefix}:limit:{key}"
