"""A resident's drop-off in the inspector's queue: how long it waits, and when it is graded.

A resident who scans a collection point's code is shown to the inspectors of that point for
`QUEUE_MINUTES`; an inspector grades the drop-off from the queue instead of scanning a card.
The grade counts at its moment (its capture time within the rules' bounds, else the server's
time), as a card's grade does, so a grade tapped in time and sent later by an offline phone
still counts. Nothing here reads a clock: the moments are passed in.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from ledger.domain.errors import AlreadyGraded, DropoffExpired

QUEUE_MINUTES = 30
# A phone's clock may run a little ahead of the server's (capture times may be 5 minutes
# ahead, ledger/domain/capture.py): a grade that seems to come just before its drop-off counts.
AHEAD_MINUTES = 5


def queue_since(now: datetime) -> datetime:
    """The oldest drop-off still in a queue at `now`."""
    return now - timedelta(minutes=QUEUE_MINUTES)


def check_gradable(recorded_at: datetime, moment: datetime) -> None:
    """A drop-off is graded within `QUEUE_MINUTES` of when it was recorded (422 otherwise)."""
    earliest = recorded_at - timedelta(minutes=AHEAD_MINUTES)
    latest = recorded_at + timedelta(minutes=QUEUE_MINUTES)
    if not earliest <= moment <= latest:
        raise DropoffExpired(
            f"a drop-off is graded within {QUEUE_MINUTES} minutes of it: this one was recorded "
            f"at {recorded_at.isoformat()}; scan the household's card instead",
            recorded_at=recorded_at.isoformat(),
        )


def check_not_graded(graded_streams: Collection[str], stream: str) -> None:
    """One grade per drop-off and waste stream: a second tap, or a second inspector, is
    refused (409) rather than recorded as the day's second grade of that stream."""
    if stream in graded_streams:
        raise AlreadyGraded(f"this drop-off's {stream} waste is already graded", stream=stream)
