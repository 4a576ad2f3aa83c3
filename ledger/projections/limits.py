"""Rate-limit counters in Redis: one atomic script per hit, so the limit holds across every
worker process (Litestar's own limiter reads, checks and writes in three steps).

Every counter's key carries the hash tag `{limit}`: one request's address and caller counters
are counted in one Lua call (api/limits.py), which a Redis Cluster allows only for keys in one
slot. So all counters live on one cluster node; the boards, the bulk of the data, spread by
community (docs/decisions/2026-12-06-past-one-box.md)."""

from __future__ import annotations

import asyncio
import contextvars
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from ledger.projections.client import AnyRedis
from ledger.services.limits import SignInAttempt, SignInPolicy
from ledger.services.waiting import fail_all

# Requests' counters in one call: each request's (its address and caller counters, or one key
# for a single hit) is a group, counted in its own window and in arrival order, stopping at the
# first of its counters past its limit, so its later counters are not counted, as when each
# was its own round trip and a refusal ended the request. ARGV: per group, its window's seconds,
# its number of counters n, their n limits; KEYS: every group's counters, in order. Returns, per
# group, {index of the refused counter or 0, its or the last one's hits, their window's seconds
# left}.
_HIT = """
local answers, k, a = {}, 0, 1
while a <= #ARGV do
  local window, n = ARGV[a], tonumber(ARGV[a + 1])
  local refused, hits, ttl = 0, 0, 0
  for i = 1, n do
    if refused == 0 then
      local key = KEYS[k + i]
      hits = redis.call('INCR', key)
      if hits == 1 then redis.call('EXPIRE', key, window) end
      ttl = redis.call('TTL', key)
      if ttl < 0 then redis.call('EXPIRE', key, window); ttl = tonumber(window) end
      if hits > tonumber(ARGV[a + 1 + i]) then refused = i end
    end
  end
  answers[#answers + 1] = refused
  answers[#answers + 1] = hits
  answers[#answers + 1] = ttl
  k, a = k + n, a + n + 2
end
return answers
"""
# A single hit has no limit of its own here (its caller compares the hits): none is reached.
_NO_LIMIT = 2**53

# One hash per username (MemoryLimiter keeps the same fields): the guess is counted before the
# password is checked, in one step, so simultaneous guesses cannot all pass one check.
# Returns {0, 0} allowed, {1, seconds} address locked, {2, seconds} username ceiling reached
# (a policy whose ceiling holds keeps the name locked, and its hash, until an unlock).
_SIGN_IN_ATTEMPT = """
local now = tonumber(ARGV[1])
local n_field, next_field = 'n:' .. ARGV[2], 'next:' .. ARGV[2]
local free, first, max_delay = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ceiling, window, memory = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local holds = ARGV[9] == '1'
local next_at = tonumber(redis.call('HGET', KEYS[1], next_field) or '0')
if now < next_at then return {1, math.max(math.ceil(next_at - now), 1)} end
local w = tonumber(redis.call('HGET', KEYS[1], 'w') or '0')
local u = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
local held = holds and u >= ceiling
if now >= w and not held then w = now + window; u = 0 end
if held then redis.call('PERSIST', KEYS[1]); return {2, window} end
if u >= ceiling then return {2, math.max(math.ceil(w - now), 1)} end
local n = tonumber(redis.call('HGET', KEYS[1], n_field) or '0') + 1
local delay = 0
if n >= free then delay = math.min(first * 2 ^ (n - free), max_delay) end
redis.call('HSET', KEYS[1], n_field, n, next_field, tostring(now + delay))
redis.call('HSET', KEYS[1], 'w', tostring(w), 'u', u + 1)
if holds and u + 1 >= ceiling then redis.call('PERSIST', KEYS[1])
else redis.call('EXPIRE', KEYS[1], math.max(memory, window)) end
return {0, 0}
"""
_SIGN_IN_SUCCEEDED = """
redis.call('HDEL', KEYS[1], 'n:' .. ARGV[1], 'next:' .. ARGV[1])
if tonumber(redis.call('HGET', KEYS[1], 'u') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'u', -1)
end
return 0
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
    # Counts live in Redis, shared by every worker; each call is a round trip.
    shared = True

    def __init__(self, redis: AnyRedis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._hit = redis.register_script(_HIT)
        self._groups = HitGroups(self._hit)
        self._sign_in_attempt = redis.register_script(_SIGN_IN_ATTEMPT)
        self._sign_in_succeeded = redis.register_script(_SIGN_IN_SUCCEEDED)
        self._take = redis.register_script(_TAKE)

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        _, hits, ttl = await self._groups.count([self._key(key)], [window_seconds, 1, _NO_LIMIT])
        return hits, ttl

    async def hit_many(self, checks: Sequence[tuple[str, int]], window_seconds: int) -> int | None:
        # One slot on a Redis Cluster: every counter's key carries the tag `{limit}`.
        keys = [self._key(key) for key, _ in checks]
        refused, _, ttl = await self._groups.count(keys, _group_args(checks, window_seconds))
        return ttl if refused else None

    async def take(self, key: str, window_seconds: int, wanted: int, limit: int) -> tuple[int, int]:
        granted, ttl = await self._take(keys=[self._key(key)], args=[window_seconds, wanted, limit])
        return int(granted), int(ttl)

    async def count(self, key: str) -> int:
        value = await self.redis.get(self._key(key))
        return int(value) if value is not None else 0

    async def reset(self, key: str) -> None:
        await self.redis.delete(self._key(key))

    async def sign_in_attempt(
        self, username: str, address: str, policy: SignInPolicy, now: float
    ) -> SignInAttempt:
        args: list[str | int] = [
            repr(now),
            address,
            policy.free_failures,
            policy.first_delay_seconds,
            policy.delay_max_seconds,
            policy.ceiling_per_hour,
            policy.ceiling_window_seconds,
            policy.memory_seconds,
            1 if policy.ceiling_holds else 0,
        ]
        verdict, seconds = await self._sign_in_attempt(
            keys=[self._sign_in_key(username)], args=args
        )
        if int(verdict) == 0:
            return SignInAttempt(True)
        return SignInAttempt(False, max(math.ceil(float(seconds)), 1), by_ceiling=int(verdict) == 2)

    async def sign_in_succeeded(self, username: str, address: str) -> None:
        await self._sign_in_succeeded(keys=[self._sign_in_key(username)], args=[address])

    async def sign_in_unlock(self, username: str) -> None:
        await self.redis.delete(self._sign_in_key(username))

    def hits_to_send(
        self, checks: Sequence[tuple[str, int]], window_seconds: int, refused: Refusal
    ) -> PendingHits:
        """`checks` (as for hit_many) to be counted by the request's first Redis read, in its
        round trip (see PendingHits)."""
        return PendingHits(self, list(checks), window_seconds, refused)

    def _sign_in_key(self, username: str) -> str:
        return f"{self.prefix}:signin:{username}"

    def key(self, key: str) -> str:
        return limit_key(self.prefix, key)

    _key = key


# Requests one call counts at the most (a busy worker's waiting ones; the rest go in the next).
GROUP_MAX = 256
Answer = tuple[int, int, int]  # a group's refused counter (or 0), hits, seconds left


@dataclass(eq=False, slots=True)
class _Counting:
    """One request's counters waiting for their call, and where its answer goes."""

    keys: list[str]
    args: list[int]
    done: asyncio.Future[Answer]


class HitGroups:
    """A process's requests' counters, counted in Redis together, as the grading committer
    writes gradings (ledger/services/grading.py): a request's counters go at once when no call
    is in flight, else with those of every request that arrives meanwhile, in one call when it
    answers. No timer: an idle worker sends a lone request's counters at once; a busy one pays
    one round trip, and redis-py's work for one command, for many requests
    (docs/decisions/2026-12-07-rate-limit-groups.md). Each request's counts and refusal are
    those of a call of its own, in arrival order. A failed call fails each of its requests with
    the same error (they then count in memory, api/limits.py)."""

    def __init__(self, script: Any) -> None:
        self._script = script
        self._waiting: list[_Counting] = []
        self._sending: asyncio.Task[None] | None = None

    async def count(self, keys: list[str], args: list[int]) -> Answer:
        loop = asyncio.get_running_loop()
        counting = _Counting(keys, args, loop.create_future())
        self._waiting.append(counting)
        sending = self._sending
        if sending is None or sending.done() or sending.get_loop() is not loop:
            # In a task of its own with an empty context: a call is no one request's.
            self._sending = loop.create_task(self._send(), context=contextvars.Context())
        return await counting.done

    async def _send(self) -> None:
        """Sends what waits, in calls of up to GROUP_MAX requests, until nothing does."""
        loop = asyncio.get_running_loop()
        while self._waiting:
            group = [c for c in self._waiting[:GROUP_MAX] if c.done.get_loop() is loop]
            del self._waiting[:GROUP_MAX]
            try:
                answers = await self._script(
                    keys=[key for c in group for key in c.keys],
                    args=[arg for c in group for arg in c.args],
                )
            except BaseException as error:
                fail_all((c.done for c in group), error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for index, counting in enumerate(group):
                if not counting.done.done():  # its request may have gone
                    answer = answers[3 * index : 3 * index + 3]
                    counting.done.set_result((int(answer[0]), int(answer[1]), int(answer[2])))


def _group_args(checks: Sequence[tuple[str, int]], window_seconds: int) -> list[int]:
    """A request's counters' ARGV in _HIT: its window, how many, their limits."""
    return [window_seconds, len(checks), *(limit for _, limit in checks)]


def limit_key(prefix: str, key: str) -> str:
    """The Redis key of the counter `key` (like `addr:10.0.0.7` or `user:12`)."""
    return f"{prefix}:{{limit}}:{key}"


# Called with the seconds left in the window when a counter is past its limit; it raises.
Refusal = Callable[[int], None]


class PendingHits:
    """A request's rate-limit hits, not counted yet, that ride in the pipeline of its first
    Redis read (a board page, ledger/projections/boards.py): one round trip, not two.

    The hits go first in the pipeline and are counted by the same script as hit_many, so the
    counts, their order and the refusal are those of a hit_many call of their own; a refusal
    raises (through `refused`) as soon as the answer arrives, before the read's answer is used.
    Whoever made it counts it on its own if nothing sent it (`sent` stays False): a request
    that never reaches the read, a pipeline that failed, or a Redis that forgot the script
    (then the script was not run, so nothing was counted twice)."""

    def __init__(
        self,
        limiter: RedisLimiter,
        checks: list[tuple[str, int]],
        window_seconds: int,
        refused: Refusal,
    ) -> None:
        self.limiter = limiter
        self.checks = checks
        self.window_seconds = window_seconds
        self.refused = refused
        self.sent = False

    def add(self, checks: Sequence[tuple[str, int]]) -> None:
        """Later checks of the same request (the caller stage's), counted after these."""
        self.checks.extend(checks)

    def queue(self, pipe: Any) -> None:
        """Put the hits in a pipeline (a plain one, on one Redis server)."""
        keys = [self.limiter.key(key) for key, _ in self.checks]
        args = _group_args(self.checks, self.window_seconds)
        pipe.evalsha(self.limiter._hit.sha, len(keys), *keys, *args)

    def answered(self, answer: Any) -> None:
        """The pipeline's answer to queue()'s call: counted (a refusal raises), or left for
        the request to count if Redis did not run the script."""
        if isinstance(answer, ResponseError):
            return  # NOSCRIPT or another refusal to run it: nothing was counted
        if isinstance(answer, Exception):
            raise answer
        self.sent = True
        refused, _, ttl = answer
        if int(refused):
            self.refused(int(ttl))
