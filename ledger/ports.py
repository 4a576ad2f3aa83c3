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
