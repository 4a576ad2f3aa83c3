"""The Limiter port's `hit_many`: counters in order, stopping at the first past its limit, the
same in memory (one worker, or every worker while Redis fails) and in Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

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


@pytest.mark.redis
async def test_concurrent_requests_are_counted_in_one_call_each_as_if_alone(redis: Any) -> None:
    """Requests that arrive while a call is in flight go together in the next one (HitGroups):
    fewer calls than requests, and each request's counts and refusal are those it would have
    had alone, in arrival order."""
    limiter = RedisLimiter(redis, f"hg{uuid.uuid4().hex[:6]}")
    calls: list[int] = []
    script = limiter._groups._script

    async def counted_call(**kwargs: Any) -> Any:
        calls.append(len(kwargs["keys"]))
        return await script(**kwargs)

    limiter._groups._script = counted_call
    # 30 requests from one address, each also counted for its user (4 users): the address
    # allows 25, each user 6; a request refused at its address is not counted for its user.
    checks = [[("addr:203.0.113.9", 25), (f"user:{n % 4}", 6)] for n in range(30)]
    answers = await asyncio.gather(*(limiter.hit_many(c, 60) for c in checks))

    alone = MemoryLimiter()
    expected = [await alone.hit_many(c, 60) is None for c in checks]
    assert [answer is None for answer in answers] == expected
    assert expected.count(True) == 24  # user 0's 7th (the 25th), then the address's 26th on
    assert all(1 <= answer <= 60 for answer in answers if answer is not None)
    for key in ["addr:203.0.113.9", *(f"user:{n}" for n in range(4))]:
        assert await limiter.count(key) == await alone.count(key)
    assert len(calls) < len(checks)
    assert sum(calls) == 2 * len(checks)
    # Alone, on an idle limiter, a request's counters go at once, in a call of their own.
    assert await limiter.hit_many([("addr:198.51.100.1", 5), ("user:9", 5)], 60) is None
    assert calls[-1] == 2


@pytest.mark.redis
async def test_a_failed_call_fails_each_of_its_requests() -> None:
    """No answer is made up when Redis fails: every request of the call gets the error (the
    middleware then counts in memory), and the next requests get theirs."""
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    gone = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    limiter = RedisLimiter(gone, "gone")
    outcomes = await asyncio.gather(
        *(limiter.hit_many([("addr:a", 5)], 60) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(outcome, RedisConnectionError) for outcome in outcomes)
    with pytest.raises(RedisConnectionError):
        await limiter.hit("addr:a", 60)
    await gone.aclose()
