"""What the services need from the outside world, as protocols."""

from __future__ import annotations

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
