"""Board projections in Redis, applied exactly once per fact.

Each community's keys share one hash tag, so one Lua script can apply a batch of its ops and
advance its `applied` watermark atomically, even on Redis Cluster. The script skips ops whose
fact sequence number is at or below the watermark: a batch replayed after a crash, or by a
second projector, changes nothing.

The ops travel as one argument, a JSON array (five items an op) that the script decodes with
Redis's own cjson: as separate arguments, redis-py encoded each of the ~155 an earned credit's
three facts make in Python (`Encoder.encode`, `pack_command`), ~130 µs of the projector's
~180 µs a fact (docs/decisions/2026-12-07-board-ops-as-one-argument.md).

The script also refuses a batch when the watermark is below the `floor` the projector expects
(the cursor the batch follows): Redis restarted empty, or came back from an older snapshot,
while the projector was between batches. Applying the batch would move the watermark past
facts Redis no longer has; the projector looks and replays from the watermark instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from ledger.domain.leaderboard import Keys, Op
from ledger.projections.client import AnyRedis

# Returned when a rebuild holds the community: the caller stops without moving its cursor.
LEASED = -(2**52)
LEASE_SECONDS = 600
_APPLY = """
local lease = redis.call('GET', KEYS[2])
if lease and lease ~= ARGV[3] then
  return LEASED
end
local applied = tonumber(redis.call('GET', KEYS[1]) or '0')
if applied < tonumber(ARGV[2]) then
  return -1 - applied
end
local top = math.max(applied, tonumber(ARGV[1]))
local ops = cjson.decode(ARGV[4])
for i = 1, #ops, 5 do
  local seq = ops[i + 4]
  if seq > applied then
    local key = KEYS[ops[i + 1]]
    local command = ops[i]
    if command == 'z' then
      redis.call('ZINCRBY', key, ops[i + 3], ops[i + 2])
    elseif command == 'h' then
      redis.call('HINCRBY', key, ops[i + 2], ops[i + 3])
    elseif command == 'l' then
      redis.call('HSET', key, ops[i + 2], ops[i + 3])
    else
      redis.call('SADD', key, ops[i + 2])
    end
    if seq > top then top = seq end
  end
end
redis.call('SET', KEYS[1], top)
return top
""".replace("LEASED", str(LEASED))
_OPS_JSON = msgspec.json.Encoder()
CURSOR_SUFFIX = "projector:cursor"
LEADER_SUFFIX = "projector:leader"
# Take the projectors' lead, or keep it: set to this owner unless another owner holds it.
_LEAD = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# The top of one sorted set for a board page, without sending the whole set: the first `limit`
# members by score (down to ARGV[2]: '-inf', or '(0' for positive scores only), and when the
# page is full, the members tied at its last score, since ranking() breaks ties by numeric id,
# not by Redis's text order. Of a large tie, only the `need` smallest plain decimal ids are
# sent (numeric order of decimal ids without leading zeros is length, then text; Redis gives
# the tie in text order); any other member name and the whole tie is sent, for Python to order.
# With a second key (the board's labels hash), the labels of the members sent come too, in
# their order (false where a member has none yet).
_TOP = """
local function labelled(top, tied)
  if #KEYS < 2 then return {top, tied, {}} end
  local members = {}
  for i = 1, #top, 2 do members[#members + 1] = top[i] end
  for _, member in ipairs(tied) do members[#members + 1] = member end
  if #members == 0 then return {top, tied, {}} end
  return {top, tied, redis.call('HMGET', KEYS[2], unpack(members))}
end
local limit = tonumber(ARGV[1])
local top = redis.call(
  'ZREVRANGEBYSCORE', KEYS[1], '+inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, limit)
if #top < 2 * limit then return labelled(top, {}) end
local cut = top[#top]
local above = 0
for i = 2, #top, 2 do if top[i] ~= cut then above = above + 1 end end
local tied = redis.call('ZRANGEBYSCORE', KEYS[1], cut, cut)
local need = limit - above
if #tied <= need then return labelled(top, tied) end
local by_length, lengths = {}, {}
for _, member in ipairs(tied) do
  if not (member == '0' or string.find(member, '^[1-9]%d*$')) then return labelled(top, tied) end
  local n = #member
  if by_length[n] == nil then
    by_length[n] = {}
    lengths[#lengths + 1] = n
  end
  table.insert(by_length[n], member)
end
table.sort(lengths)
local chosen = {}
for _, n in ipairs(lengths) do
  for _, member in ipairs(by_length[n]) do
    if #chosen == need then return labelled(top, chosen) end
    chosen[#chosen + 1] = member
  end
end
return labelled(top, chosen)
"""


class Rider(Protocol):
    """Commands of the same request that ride in a read's pipeline, ahead of it (the rate-limit
    hits, ledger/projections/limits.py PendingHits): one round trip for both."""

    def queue(self, pipe: Any) -> None: ...

    def answered(self, answer: Any) -> None:
        """Their answer, before the read's is used; may raise (a refusal)."""
        ...


class RedisBoards:
    def __init__(self, redis: AnyRedis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._apply = redis.register_script(_APPLY)
        self._top = redis.register_script(_TOP)
        self._lead = redis.register_script(_LEAD)
        self._keys: dict[int, Keys] = {}

    def keys(self, community_id: int) -> Keys:
        """One per community, made once (the projector asks for every fact)."""
        keys = self._keys.get(community_id)
        if keys is None:
            keys = self._keys[community_id] = Keys(self.prefix, community_id)
        return keys

    async def apply(
        self, community_id: int, ops: list[Op], through_seq: int, floor: int = 0, lease: str = ""
    ) -> int:
        """Apply one community's ops atomically; the watermark ends at least at `through_seq`.

        Returns the new watermark; without changing anything, `-1 - watermark` when the
        watermark is below `floor`, or LEASED while a rebuild (other than `lease`) owns it."""
        keys = self.keys(community_id)
        index: dict[str, int] = {}
        flat: list[str | int] = []
        for command, key, member, amount, seq in ops:
            flat += (command, index.setdefault(key, len(index) + 3), member, amount, seq)
        return int(
            await self._apply(
                keys=[keys.applied_through(), keys.rebuild_lease(), *index],
                args=[through_seq, floor, lease, _OPS_JSON.encode(flat)],
            )
        )

    async def take_leases(self, community_ids: list[int], lease: str) -> None:
        """From now on only `lease` may apply to these communities (until released or expired)."""
        for community_id in community_ids:
            key = self.keys(community_id).rebuild_lease()
            await self.redis.set(key, lease, ex=LEASE_SECONDS)

    async def release_leases(self, community_ids: list[int]) -> None:
        for community_id in community_ids:
            await self.redis.delete(self.keys(community_id).rebuild_lease())

    async def lead(self, owner: str, seconds: float) -> bool:
        """Whether `owner` leads the projectors for the next `seconds`: it took the lead, free
        or lapsed, or renewed its own. Only an efficiency: two leaders change nothing."""
        key = f"{self.prefix}:{LEADER_SUFFIX}"
        return bool(await self._lead(keys=[key], args=[owner, int(seconds * 1000)]))

    async def cursor(self) -> int:
        """Where the projector resumes: a hint only; the watermarks make replays harmless."""
        value = await self.redis.get(f"{self.prefix}:{CURSOR_SUFFIX}")
        return int(value) if value is not None else 0

    async def set_cursor(self, seq: int) -> None:
        await self.redis.set(f"{self.prefix}:{CURSOR_SUFFIX}", seq)

    async def watermark(self, community_id: int) -> int:
        value = await self.redis.get(self.keys(community_id).applied_through())
        return int(value) if value is not None else 0

    async def cursor_and_top(
        self,
        key: str,
        limit: int,
        positive_only: bool = False,
        labels_key: str | None = None,
        rider: Rider | None = None,
    ) -> Top:
        """The projector's cursor and, in one round trip (two on a cluster), every member of
        the sorted set that can be among its top `limit` (see _TOP): ranking() of these equals
        ranking() of all; with `labels_key`, the labels stored there for them. A `rider` goes
        first in the same round trip (not on a cluster, where it is left unsent for its owner
        to send)."""
        minimum = "(0" if positive_only else "-inf"
        keys = [key] if labels_key is None else [key, labels_key]
        if isinstance(self.redis, RedisCluster):
            # redis-py refuses EVALSHA in a cluster pipeline, and the cursor and the set are on
            # different nodes anyway: two calls (the script object loads itself if missing).
            cursor = await self.redis.get(f"{self.prefix}:{CURSOR_SUFFIX}")
            answer = await self._top(keys=keys, args=[limit, minimum])
            return _top(cursor, answer)
        for attempt in (1, 2):
            pipe = self.redis.pipeline(transaction=False)
            if rider is not None:
                rider.queue(pipe)
            pipe.get(f"{self.prefix}:{CURSOR_SUFFIX}")
            pipe.evalsha(self._top.sha, len(keys), *keys, limit, minimum)
            answers = await pipe.execute(raise_on_error=False)
            if rider is not None:
                rider.answered(answers[0])  # counted once: never sent again on a retry
                rider = None
            cursor, answer = answers[-2:]
            if isinstance(answer, NoScriptError) and attempt == 1:
                await self.redis.script_load(_TOP)  # Redis restarted or its scripts were flushed
                continue
            for result in (cursor, answer):
                if isinstance(result, Exception):
                    raise result
            break
        return _top(cursor, answer)

    async def sorted_set(self, key: str) -> dict[str, int]:
        rows: list[Any] = await self.redis.zrange(key, 0, -1, withscores=True)
        return {_text(member): int(score) for member, score in rows}

    async def hash(self, key: str) -> dict[str, int]:
        rows: dict[Any, Any] = await self.redis.hgetall(key)
        return {_text(field): int(value) for field, value in rows.items()}

    async def labels(self, key: str) -> dict[str, str]:
        rows: dict[Any, Any] = await self.redis.hgetall(key)
        return {_text(field): _text(value) for field, value in rows.items()}

    async def set_size(self, key: str) -> int:
        return int(await self.redis.scard(key))

    async def clear(self) -> int:
        """Delete every board key under the prefix and the cursor (for a rebuild); other keys
        under the prefix (rate limits, sign-in lockouts) are not the boards' to delete."""
        removed = int(await self.redis.delete(f"{self.prefix}:{CURSOR_SUFFIX}"))
        async for key in self.redis.scan_iter(match=f"{self.prefix}:{{c*}}:*", count=1000):
            removed += int(await self.redis.delete(key))
        return removed

    async def ping(self) -> bool:
        return bool(await self.redis.ping())


@dataclass(frozen=True, slots=True)
class Top:
    """A board page's candidates (member → score), their stored labels (members without one
    are missing), and the projector's cursor read in the same round trip."""

    cursor: int
    scores: dict[str, int]
    labels: dict[str, str]


def _top(cursor: Any, answer: Any) -> Top:
    """_TOP's answer as member → score and member → label."""
    top, tied, labels = answer
    members = [_text(top[i]) for i in range(0, len(top), 2)] + [_text(m) for m in tied]
    scores = {members[i // 2]: int(float(top[i + 1])) for i in range(0, len(top), 2)}
    if tied:
        cut = int(float(top[-1]))
        scores = {m: v for m, v in scores.items() if v != cut}
        scores |= {_text(member): cut for member in tied}
    stored = {m: _text(label) for m, label in zip(members, labels, strict=False) if label}
    return Top(int(cursor) if cursor is not None else 0, scores, stored)


def group_by_community(items: list[tuple[int, list[Op]]]) -> dict[int, list[Op]]:
    grouped: dict[int, list[Op]] = defaultdict(list)
    for community_id, ops in items:
        grouped[community_id].extend(ops)
    return grouped


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
