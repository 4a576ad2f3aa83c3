"""What the services need from the outside world, as protocols."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Server time only: clients never supply the time of an event."""

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
