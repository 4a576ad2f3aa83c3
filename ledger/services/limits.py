"""Limits on how fast anyone can call: per client address, per token, and sign-in failures."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.domain.errors import LedgerError


@dataclass(frozen=True)
class SignInPolicy:
    """How many password guesses one account kind allows.

    Per (username, client address): `free_failures` guesses at once, then each further guess
    waits twice as long as the one before, from `first_delay_seconds` up to `delay_max_seconds`
    (a good password from that address clears its count). Per username, from every address
    together: at most `ceiling_per_hour` guesses an hour, which only slows a guesser spread over
    many addresses and never locks the owner out from their own address for long.
    """

    free_failures: int = 5
    first_delay_seconds: int = 60
    delay_max_seconds: int = 3600
    ceiling_per_hour: int = 100
    # How long an address's count is remembered after its last guess.
    memory_seconds: int = 24 * 3600
    # The ceiling's window: an hour for passwords (hence the name), a day for PINs.
    ceiling_window_seconds: int = 3600
    # Whether reaching the ceiling locks the name until an unlock (staff, or a fresh join with
    # the household's card) instead of until the window ends: PINs, which are few enough to
    # be guessed by someone patient over many days.
    ceiling_holds: bool = False

    def delay_after(self, attempts: int) -> float:
        """Seconds the next guess from one address waits after its `attempts`-th guess."""
        if attempts < self.free_failures:
            return 0.0
        return float(
            min(
                self.first_delay_seconds * 2 ** (attempts - self.free_failures),
                self.delay_max_seconds,
            )
        )


DAY_SECONDS = 24 * 3600
# One policy per kind of account (app_user.credential). A PIN (6 digits, trivial ones refused)
# allows 10 wrong guesses a day per account from every address together, then stays locked
# until staff unlock it or a fresh join with the household's card resets it
# (docs/decisions/2026-12-06-pin-accounts.md).
SIGN_IN_POLICIES = {
    "password": SignInPolicy(),
    "pin": SignInPolicy(
        ceiling_per_hour=10, ceiling_window_seconds=DAY_SECONDS, ceiling_holds=True
    ),
}
# Wrong join codes per household card: 10 a day from every address together (the per-address
# delays of a sign-in apply too); a right code gives its guess back.
JOIN_CODE_POLICY = SignInPolicy(ceiling_per_hour=10, ceiling_window_seconds=DAY_SECONDS)


@dataclass(frozen=True)
class SignInAttempt:
    """The answer to asking for one guess: allowed, or locked for `retry_after` seconds."""

    allowed: bool
    retry_after: int = 0
    by_ceiling: bool = False


class RateLimited(LedgerError):
    """Too many requests in a window; `retry_after_seconds` says when to try again."""

    code = "rate_limited"


class SignInLocked(LedgerError):
    """After repeated wrong passwords a username is locked for a while."""

    code = "sign_in_locked"


@dataclass
class MemoryLimiter:
    """The embedded default (one process, no Redis): the same windows, in memory."""

    shared = False  # this process's own counts
    _windows: dict[str, tuple[int, float]] = field(default_factory=dict)
    # Per username: "w"/"u" the ceiling's window end and guesses in it, "n:ADDR"/"next:ADDR"
    # each address's guesses and when it may guess again (RedisLimiter keeps the same hash).
    _sign_ins: dict[str, dict[str, float]] = field(default_factory=dict)

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        before, seconds_left = self._add(key, window_seconds, 1)
        return before + 1, seconds_left

    async def hit_many(self, checks: Sequence[tuple[str, int]], window_seconds: int) -> int | None:
        for key, limit in checks:
            hits, seconds_left = await self.hit(key, window_seconds)
            if hits > limit:
                return seconds_left
        return None

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

    async def sign_in_attempt(
        self, username: str, address: str, policy: SignInPolicy, now: float
    ) -> SignInAttempt:
        """Count one guess before it is checked; no await inside, so one process counts atomically
        (RedisLimiter does the same in one script)."""
        if len(self._sign_ins) > 100_000:  # a held lock is forgotten first: best effort only
            self._sign_ins = {k: v for k, v in self._sign_ins.items() if v.get("w", 0) > now}
        state = self._sign_ins.setdefault(username, {})
        next_at = state.get(f"next:{address}", 0.0)
        if now < next_at:
            return SignInAttempt(False, max(math.ceil(next_at - now), 1))
        held = policy.ceiling_holds and state.get("u", 0) >= policy.ceiling_per_hour
        if now >= state.get("w", 0.0) and not held:
            state["w"], state["u"] = now + policy.ceiling_window_seconds, 0
        if state["u"] >= policy.ceiling_per_hour:
            wait = policy.ceiling_window_seconds if held else state["w"] - now
            return SignInAttempt(False, max(math.ceil(wait), 1), by_ceiling=True)
        attempts = int(state.get(f"n:{address}", 0)) + 1
        state[f"n:{address}"] = attempts
        state[f"next:{address}"] = now + policy.delay_after(attempts)
        state["u"] += 1
        return SignInAttempt(True)

    async def sign_in_succeeded(self, username: str, address: str) -> None:
        state = self._sign_ins.get(username, {})
        state.pop(f"n:{address}", None)
        state.pop(f"next:{address}", None)
        if state.get("u", 0) > 0:
            state["u"] -= 1

    async def sign_in_unlock(self, username: str) -> None:
        self._sign_ins.pop(username, None)
