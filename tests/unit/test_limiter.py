"""The Limiter port's `hit_many`: counters in order, stopping at the first past its limit, the
same in memory (one worker, or every worker while Redis fails) and in Redis."""

from __future__ import annotations

import uuid

import pytest

from ledger.ports import Limiter
from ledger.projections.limits import RedisLimiter
from ledger.services.limits import MemoryLimiter


async def _counts_in_order_and_stops_at_the_first_refusal(limiter: Limiter) -> None:
    checks = [("addr:203.0.113.9", 3), ("user:7", 1)]
    assert await limiter.hit_many(checks, 60) is None
    assert await limiter.count("addr:203.0.113.9") == 1
    assert await limiter.count("user:7") == 1

    retry_after = await limiter.hit_many(checks, 60)  # the user's second: past its 1
    assert retry_after is not None
    assert 1 <= retry_after <= 60
    assert await limiter.count("user:7") == 2

    await limiter.hit_many(checks, 60)  # the address's third: still within
    assert await limiter.hit_many(checks, 60) is not None  # its fourth: refused first
    assert await limiter.count("addr:203.0.113.9") == 4
    assert await limiter.count("user:7") == 3  # not counted behind a refused address
    hits, seconds_left = await limiter.hit("user:7", 60)
    assert hits == 4
    assert 1 <= seconds_left <= 60


async def test_hit_many_in_memory() -> None:
    limiter = MemoryLimiter()
    assert not limiter.shared
    await _counts_in_order_and_stops_at_the_first_refusal(limiter)


@pytest.mark.redis
async def test_hit_many_in_redis(redis: object) -> None:
    limiter = RedisLimiter(redis, f"hm{uuid.uuid4().hex[:6]}")  # type: ignore[arg-type]
    assert limiter.shared
    await _counts_in_order_and_stops_at_the_first_refusal(limiter)
    assert (await limiter.hit("addr:203.0.113.9", 60))[0] == 5
