"""What the background loops (sealer, projection, notices, webhook) do alike: a pass that did
nothing, or failed, waits before the next; a failed pass is logged and retried, never the end
of the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ledger import metrics
from ledger.store.connections import is_unavailable


async def idle(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds` before the next pass, or less when the loop is asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def step_failed(log: logging.Logger, step: str, doing: str, error: Exception) -> None:
    """A metered step's pass failed (call it in the `except`): counted, and logged with its
    traceback unless the database is simply away for now."""
    metrics.step_failed(step)
    if is_unavailable(error):
        log.warning(
            "%s failed; retrying: database unavailable: %s: %s", doing, type(error).__name__, error
        )
    else:
        log.exception("%s failed; retrying", doing)


async def poll(
    stop: asyncio.Event,
    one_pass: Callable[[], Coroutine[Any, Any, int]],
    *,
    log: logging.Logger,
    name: str,
    doing: str,
    idle_seconds: float,
) -> None:
    """Run passes until `stop`, each in a task of its own (a transaction a lost database left
    behind dies with its task); a pass that did nothing (0) or failed waits `idle_seconds`."""
    while not stop.is_set():
        try:
            done: int = await asyncio.create_task(one_pass())
        except Exception as error:
            if is_unavailable(error):
                log.warning("%s paused, database unavailable: %s", name, error)
            else:
                log.exception("%s failed; retrying", doing)
            done = 0
        if done == 0:
            await idle(stop, idle_seconds)
