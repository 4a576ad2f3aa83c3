"""Which signed tokens still count: revocation that reaches every worker within seconds.

A token carries its user's `token_version` (`ver`) and its own session id (`sid`). It counts
while `ver` equals the user's current version and `sid` has not been signed out. The database
holds the truth (app_user.token_version, signed_out_session); Redis mirrors each user's
state so that a request reads no database; each process keeps what it read for
LOCAL_SECONDS. So a revocation takes effect everywhere within LOCAL_SECONDS.

Redis down: a process reads the database instead (slower, still correct): failing open would
let a revoked token through. A change that could not be written to Redis is still in the
database and reaches the mirror when the mirror's copy expires (MIRROR_SECONDS) or the next
change writes it. See docs/decisions/2026-12-06-token-revocation.md.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger import metrics
from ledger.ports import Clock
from ledger.projections.client import REDIS_FAILURES
from ledger.store import sessions as store
from ledger.store.engine import Database

log = logging.getLogger(__name__)
LOCAL_SECONDS = 2.0
MIRROR_SECONDS = 300
LOCAL_USERS_MAX = 20_000
# Merges a user's state into the mirror: the version only grows and signed-out sessions are
# only added, so two writers (or a reader refilling the mirror) in any order leave the newest.
# Sessions past their token's expiry are dropped. ARGV: now, ttl, version, sid, expiry, ...
_MERGE = """
local now = tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
if tonumber(ARGV[3]) > current then redis.call('HSET', KEYS[1], 'v', ARGV[3]) end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], 's:' .. ARGV[i], ARGV[i + 1]) end
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 2) == 's:' and tonumber(fields[i + 1]) <= now then
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class TokenState:
    """A user's tokens: the version they must carry and the sessions signed out."""

    version: int
    signed_out: frozenset[str]

    def admits(self, version: Any, sid: Any) -> bool:
        return version == self.version and isinstance(sid, str) and sid not in self.signed_out


def new_session_id() -> str:
    return secrets.token_hex(16)


@dataclass
class Sessions:
    db: Database
    clock: Clock
    # AnyRedis | None; Litestar inspects the services' types, and msgspec refuses a union of two
    # classes of its own (Redis | RedisCluster).
    redis: Any = None
    prefix: str = "gl"
    monotonic: Callable[[], float] = time.monotonic
    _local: dict[int, tuple[float, TokenState]] = field(default_factory=dict)
    # The read in flight per user: requests that miss the local copy together share it.
    _reading: dict[int, asyncio.Task[TokenState]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._merge = self.redis.register_script(_MERGE) if self.redis is not None else None

    def known(self, user_id: int) -> TokenState | None:
        """This process's fresh copy, without waiting for anything (None if it has none)."""
        entry = self._local.get(user_id)
        if entry is None or self.monotonic() >= entry[0]:
            return None
        return entry[1]

    async def state(self, user_id: int) -> TokenState:
        """The local copy, else the mirror, else the database (which then refills the mirror).
        The requests that miss the local copy while a read of it is in flight wait for that
        read rather than each sending its own (every LOCAL_SECONDS, a busy user's requests in
        flight would otherwise all read at once). The read is a task of its own with an empty
        context, so a request that goes away does not cancel it for the others."""
        known = self.known(user_id)
        if known is not None:
            return known
        loop = asyncio.get_running_loop()
        reading = self._reading.get(user_id)
        if reading is None or reading.get_loop() is not loop:
            reading = loop.create_task(self._read(user_id), context=contextvars.Context())
            self._reading[user_id] = reading
        return await asyncio.shield(reading)

    async def _read(self, user_id: int) -> TokenState:
        try:
            state = await self._shared(user_id)
        finally:
            current = self._reading.get(user_id) is asyncio.current_task()
            if current:
                del self._reading[user_id]
        if current:  # not if a change was published meanwhile: its state would be older
            while len(self._local) >= LOCAL_USERS_MAX:
                self._local.pop(next(iter(self._local)))
            self._local.pop(user_id, None)
            self._local[user_id] = (self.monotonic() + LOCAL_SECONDS, state)
        return state

    async def admits(self, user_id: int, version: Any, sid: Any) -> bool:
        return (await self.state(user_id)).admits(version, sid)

    async def sign_out(self, user_id: int, sid: str, expires_at: datetime) -> None:
        """That one token stops counting; the user's other sessions go on."""
        if expires_at <= self.clock.now():
            return
        async with self.db.write():
            await store.sign_out(user_id, sid, expires_at, self.clock.now())
        await self.published(user_id)

    async def published(self, user_id: int) -> None:
        """After a change committed: drop this process's copy, and the read in flight for
        later requests to share (it may have read before the change), and write the mirror."""
        self._local.pop(user_id, None)
        self._reading.pop(user_id, None)
        if self._merge is None:
            return
        try:
            await self._write_mirror(user_id, *await store.token_state(user_id, self.clock.now()))
        except REDIS_FAILURES as error:
            metrics.redis_error("sessions")
            log.warning("token revocation for user %s not mirrored to Redis: %s", user_id, error)

    async def _shared(self, user_id: int) -> TokenState:
        if self.redis is None:
            return await self._from_database(user_id)
        try:
            mirrored = await self.redis.hgetall(self._key(user_id))
        except REDIS_FAILURES as error:
            metrics.redis_error("sessions")
            log.warning("token states read from the database while Redis fails: %s", error)
            return await self._from_database(user_id)
        if mirrored:
            return self._from_mirror(mirrored)
        version, signed_out = await store.token_state(user_id, self.clock.now())
        try:
            await self._write_mirror(user_id, version, signed_out)
        except REDIS_FAILURES as error:
            metrics.redis_error("sessions")
            log.warning("token state mirror not refilled: %s", error)
        return TokenState(version, frozenset(signed_out))

    async def _from_database(self, user_id: int) -> TokenState:
        version, signed_out = await store.token_state(user_id, self.clock.now())
        return TokenState(version, frozenset(signed_out))

    def _from_mirror(self, mirrored: dict[Any, Any]) -> TokenState:
        now = self.clock.now().timestamp()
        version = int(mirrored.get(b"v", b"-1"))
        signed_out = frozenset(
            bytes(name[2:]).decode()
            for name, expiry in mirrored.items()
            if bytes(name).startswith(b"s:") and float(expiry) > now
        )
        return TokenState(version, signed_out)

    async def _write_mirror(
        self, user_id: int, version: int, signed_out: dict[str, datetime]
    ) -> None:
        assert self._merge is not None
        args: list[Any] = [repr(self.clock.now().timestamp()), MIRROR_SECONDS, version]
        for sid, expires_at in signed_out.items():
            args += [sid, repr(expires_at.timestamp())]
        await self._merge(keys=[self._key(user_id)], args=args)

    def _key(self, user_id: int) -> str:
        return f"{self.prefix}:tokens:{user_id}"
