"""Limits on how fast anyone can call: per client address, per token, and sign-in failures."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ledger.domain.errors import LedgerError

SIGN_IN_FAILURES_MAX = 5
SIGN_IN_LOCK_SECONDS = 15 * 60


class RateLimited(LedgerError):
    """Too many requests in a window; `retry_after_seconds` says when to try again."""

    code = "rate_limited"


class SignInLocked(LedgerError):
    """After repeated wrong passwords a username is locked for a while."""

    code = "sign_in_locked"


@dataclass
class MemoryLimiter:
    """The embedded default (one process, no Redis): the same windows, in memory."""

    _windows: dict[str, tuple[int, float]] = field(default_factory=dict)

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        before, seconds_left = self._add(key, window_seconds, 1)
        return before + 1, seconds_left

    async def take(self, key: str, window_seconds: int, wanted: int, limit: int) -> tuple[int, int]:
        before, seconds_left = self._add(key, window_seconds, wanted)
        return min(wanted, max(0, limit - before)), seconds_left

    def _add(self, key: str, window_seconds: int, hits_added: int) -> tuple[int, int]:
        """The hits before these in the key's window, and the seconds until it ends."""
        now = time.monotonic()
        hits, ends = self._windows.get(key, (0, now + window_seconds))
        if ends <= now:
            hits, ends = 0, now + window_seconds
        self._windows[key] = (hits + hits_added, ends)
        if len(self._windows) > 100_000:
            self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        return hits, max(int(ends - now), 1)

    async def count(self, key: str) -> int:
        hits, ends = self._windows.get(key, (0, 0.0))
        return hits if ends > time.monotonic() else 0

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)
