"""The sealer's and the projector's lag, as /health/ready and /metrics report them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.ports import Clock
from ledger.services.projection import Projector
from ledger.store import lag as store


@dataclass(frozen=True, slots=True)
class Lag:
    pending: int  # entries not sealed yet, or facts not applied yet
    seconds: float  # how long the oldest of them has waited (0 when none)


async def sealer_lag(clock: Clock) -> Lag:
    pending, oldest = await store.unsealed()
    return Lag(pending, _seconds_since(oldest, clock))


async def projector_lag(projector: Projector, clock: Clock) -> Lag:
    """Raises RedisError when Redis (which holds the projector's cursor) is unreachable."""
    pending, oldest = await store.unapplied(await projector.boards.cursor())
    return Lag(pending, _seconds_since(oldest, clock))


def _seconds_since(moment: datetime | None, clock: Clock) -> float:
    if moment is None:
        return 0.0
    return max(0.0, round((clock.now() - moment).total_seconds(), 3))
