"""What the services need from the outside world, as protocols."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ledger.services.limits import SignInAttempt, SignInPolicy


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The server's time. A scan may also carry its capture time, which counts only within the
    rules' bounds (ledger/domain/capture.py)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class Limiter(Protocol):
    """Counts hits per key in fixed windows; shared by all workers when backed by Redis."""

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Count one hit; returns the hits in this window and the seconds until it ends."""
        ...

    @property
    def shared(self) -> bool:
        """Whether the counts are shared by every worker (Redis), each call a round trip."""
        ...

    async def hit_many(self, checks: Sequence[tuple[str, int]], window_seconds: int) -> int | None:
        """Count one hit on each (key, limit), in order, stopping at the first past its limit
        (later ones are not counted); returns the seconds until that one's window ends, or
        None when every one is within its limit."""
        ...

    async def take(self, key: str, window_seconds: int, wanted: int, limit: int) -> tuple[int, int]:
        """Count `wanted` hits at once; returns how many of them fall within `limit` in this
        window (the first ones) and the seconds until the window ends."""
        ...

    async def count(self, key: str) -> int: ...

    async def reset(self, key: str) -> None: ...

    async def sign_in_attempt(
        self, username: str, address: str, policy: SignInPolicy, now: float
    ) -> SignInAttempt:
        """Count one password guess before it is checked: allowed, or locked for a while."""
        ...

    async def sign_in_succeeded(self, username: str, address: str) -> None:
        """A good password clears that address's count (and gives its guess back)."""
        ...

    async def sign_in_unlock(self, username: str) -> None:
        """An admin lifts every lock on a username."""
        ...
