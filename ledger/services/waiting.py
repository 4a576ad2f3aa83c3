"""Ending the futures that requests wait on, for the committers that answer many at once
(services/grading.py `Gradings`, projections/limits.py `HitGroups`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


def fail_all(futures: Iterable[asyncio.Future[Any]], error: BaseException) -> None:
    """Each future not yet done ends with `error`, or is cancelled if `error` is a cancellation
    (a future cannot hold a CancelledError as its exception)."""
    for future in futures:
        if future.done():
            continue
        if isinstance(error, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(error)
