"""Grading a drop-off: one path for a single scan and a batch, committed in groups.

Each process has one committer (`Gradings`). A grading is checked (what is refused before
anything is recorded), then waits to be written with the gradings that arrive while the groups
before it are being written; when one of those transactions ends, everything waiting goes in
the next one. There is no batching timer: an idle server writes a lone grading at once, a busy
one writes larger groups and pays one transaction, one set of statements and one fsync per
group instead of per grading (docs/decisions/2026-12-06-group-commit.md). One group is written at a
time; when it has been in flight for `STALLED_SECONDS` (it is waiting for a row another
transaction holds, most likely), the next starts beside it, up to `IN_FLIGHT`, so such a group
does not hold up every grading of the process
(docs/decisions/2026-12-07-a-second-group-only-beside-a-stalled-one.md). A request's gradings
(a batch) stay together and in order.

`GradingGroup` decides each grading exactly as if the group's gradings had been sent one after
the other. Should a group's transaction fail for a reason that is not a grading's own (another
process stored one of its event ids first, a deadlock), it is written once more (the stored
event ids then replay); failing again, or for any other reason, each grading goes again in a
group of its own, retried as `Runner.once` retries: a lost race or a transient error for one
grading never fails the others. A database that is unreachable fails the group at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ledger import metrics
from ledger.domain.access import Principal
from ledger.domain.capture import captured_input, check_captured_at
from ledger.domain.errors import InvalidInput, LedgerError
from ledger.domain.idempotency import check_event_id, fingerprint
from ledger.domain.photos import check_ref, is_photo_ref
from ledger.ports import Clock
from ledger.services.codes import Codes
from ledger.services.dropoff_queue import check_subject
from ledger.services.grading_group import (
    OPERATION,
    Checked,
    Graded,
    Grading,
    GradingGroup,
    Outcome,
    Race,
)
from ledger.services.waiting import fail_all
from ledger.store import photos as photo_store
from ledger.store.connections import is_unavailable
from ledger.store.engine import TRANSIENT_RETRIES, Database, is_transient, is_unique_violation

log = logging.getLogger(__name__)

# Groups one process writes at once: while one waits for a row another transaction holds (a
# household at the counter, say), the next group goes on. Each takes whole requests, in
# arrival order, up to GROUP_MAX gradings (a single request's batch may be more).
IN_FLIGHT = 2
# The next group starts beside one in flight only once that one has taken this long, about ten
# times a group's usual time under load: a second group started at once took the few gradings
# that arrived meanwhile and paid a whole group's statements, COMMIT and bookkeeping for them
# (the HTTP row's groups: 11 gradings then, 15 now; PostgreSQL CPU a credit 8-12 % less).
STALLED_SECONDS = 0.05
_CLOCK_GRAIN = 0.001
GROUP_MAX = 1_000
REASONS_MAX = 10
REASON_CODE_LENGTH_MAX = 32
PHOTO_REF_LENGTH_MAX = 200

__all__ = ["Graded", "Grading", "Gradings", "Outcome"]


@dataclass(eq=False)
class _Waiting:
    """A checked grading waiting for its group, and where its outcome goes."""

    checked: Checked
    done: asyncio.Future[Outcome]
    arrived: float = field(default_factory=time.perf_counter)


class Gradings:
    """The process's grading committer."""

    def __init__(self, db: Database, clock: Clock, codes: Codes) -> None:
        self.db, self.clock, self.codes = db, clock, codes
        self._waiting: list[list[_Waiting]] = []  # each request's gradings, in arrival order
        self._writing: dict[asyncio.Task[None], float] = {}  # each group's task, its start
        self._watching: asyncio.AbstractEventLoop | None = None  # the loop a watch is set on

    async def inspect(self, actor: Principal, grading: Grading) -> Graded:
        """Grade a drop-off; the first grade per stream and day scores, up to the cap. The day
        is the one the grade was captured on (`captured_at`, within the rules' bounds). The
        household is named by its card (`household_token`) or by a resident's drop-off at this
        point in the last 30 minutes (`dropoff_id`: once per stream, 422 `dropoff_expired`)."""
        (outcome,) = await self.inspect_many(actor, [grading])
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    async def inspect_many(self, actor: Principal, gradings: Sequence[Grading]) -> list[Outcome]:
        """The outcome of each grading, in order: a result or the refusal. An error that is
        not a refusal (the database gone, a bug) is raised, after every grading has its end."""
        checked = [await _check(actor, grading) for grading in gradings]
        for item in checked:
            if isinstance(item, LedgerError):
                metrics.write_answered(OPERATION, item.code)
        loop = asyncio.get_running_loop()
        waiting = [
            _Waiting(item, loop.create_future()) for item in checked if isinstance(item, Checked)
        ]
        if waiting:
            self._waiting.append(waiting)  # a request's gradings stay together, in order
            self._start(loop)
            await asyncio.wait([w.done for w in waiting])
        for one in waiting:  # a failure, not a refusal (refusals are outcomes)
            if one.done.cancelled() or one.done.exception() is not None:
                one.done.result()  # raises it
        decided = iter(w.done.result() for w in waiting)
        return [item if isinstance(item, LedgerError) else next(decided) for item in checked]

    async def close(self) -> None:
        """Wait for the groups being written (at shut-down, before the pool closes)."""
        while self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start writing a group of what is waiting if none is being written, or beside the
        one that is once it has stalled (up to `IN_FLIGHT`); before that, a watch looks again
        when it would count as stalled, and the first group to end starts the next. Each group
        in a task of its own with an empty context: a group is no one request's."""
        # Left by a loop that has closed (tests run one loop after another): nobody waits.
        self._waiting = [b for b in self._waiting if not b[0].done.get_loop().is_closed()]
        self._writing = {t: at for t, at in self._writing.items() if not t.get_loop().is_closed()}
        if not self._waiting or len(self._writing) >= IN_FLIGHT:
            return
        if self._writing:
            stalls_at = max(self._writing.values()) + STALLED_SECONDS
            # uvloop's clock and timers have a millisecond's grain: a watch may fire that much
            # early, and must not set itself again for the rest of that millisecond.
            if loop.time() < stalls_at - _CLOCK_GRAIN:
                if self._watching is not loop:  # one watch at a time
                    self._watching = loop
                    loop.call_at(stalls_at, self._watched, loop)
                return
        task = loop.create_task(self._write(), context=contextvars.Context())
        self._writing[task] = loop.time()
        task.add_done_callback(self._ended)

    def _watched(self, loop: asyncio.AbstractEventLoop) -> None:
        self._watching = None
        self._start(loop)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """A group's task is done (written, failed, or cancelled, even before it began): what
        waits goes in the next group."""
        self._writing.pop(task, None)
        if self._waiting:
            self._start(task.get_loop())

    def _next_group(self) -> list[_Waiting]:
        """Whole requests, in arrival order, up to `GROUP_MAX` gradings (one request's more)."""
        group: list[_Waiting] = []
        while self._waiting and (not group or len(group) + len(self._waiting[0]) <= GROUP_MAX):
            group += self._waiting.pop(0)
        return group

    async def _write(self) -> None:
        """Takes its group when it starts: what arrived in the meantime goes with it."""
        group = self._next_group()
        try:
            if group:
                await self._commit(group)
        except BaseException as error:  # cancelled at shut-down: its gradings are not left waiting
            _fail(group, error)
            raise

    async def _commit(self, group: list[_Waiting]) -> None:
        started = time.perf_counter()
        metrics.grading_group(len(group), [started - item.arrived for item in group])
        for attempt in (1, 2):
            try:
                outcomes = await self._written([item.checked for item in group])
            except Exception as error:
                if attempt == 1 and len(group) > 1 and _retried(error):
                    # Another process stored one of its event ids first, or a deadlock: once
                    # more, the stored ones replay.
                    log.info("group of %d gradings again after %r", len(group), error)
                    continue
                await self._after_failure(group, error)
                return
            _settle(group, outcomes)
            return

    async def _after_failure(self, group: list[_Waiting], error: Exception) -> None:
        if is_unavailable(error) or (len(group) == 1 and not _retried(error)):
            # The database is away (each alone would wait for it again), or a lone grading
            # met an error no retry cures: its request answers with it.
            _fail(group, error)
            return
        level = logging.INFO if _retried(error) else logging.WARNING
        log.log(level, "group of %d gradings goes one by one after %r", len(group), error)
        for index, item in enumerate(group):
            failure = await self._alone(item)
            if failure is not None and is_unavailable(failure):
                _fail(group[index + 1 :], failure)
                return

    async def _alone(self, item: _Waiting) -> Exception | None:
        """One grading in a group of its own, retried as `Runner.once` retries; the error it
        ended with, if any."""
        event_id = item.checked.grading.event_id
        for attempt in range(1, TRANSIENT_RETRIES + 1):
            try:
                (outcome,) = await self._written([item.checked])
            except Exception as error:
                if _retried(error) and attempt < TRANSIENT_RETRIES:
                    log.info("retrying inspection %s after %r", event_id, error)
                    continue
                _fail([item], error)
                return error
            _settle([item], [outcome])
            return None
        raise AssertionError("the last attempt returns")

    async def _written(self, checked: list[Checked]) -> list[Outcome]:
        async with self.db.write(generic_plans=True):
            return await GradingGroup(self.codes, self.clock.now(), checked).run()


def _retried(error: Exception) -> bool:
    """Not the grading's own failure: written again, it may well go through."""
    return isinstance(error, Race) or is_transient(error) or is_unique_violation(error)


def _fail(group: list[_Waiting], error: BaseException) -> None:
    fail_all((item.done for item in group), error)


def _settle(group: list[_Waiting], outcomes: list[Outcome]) -> None:
    for item, outcome in zip(group, outcomes, strict=True):
        code = outcome.code if isinstance(outcome, LedgerError) else "ok"
        metrics.write_answered(OPERATION, code)
        if not item.done.done():  # its request may have gone (cancelled); the outcome is stored
            item.done.set_result(outcome)


async def _check(actor: Principal, grading: Grading) -> Checked | LedgerError:
    """What is refused before anything is recorded (nothing is stored for these)."""
    try:
        check_subject(grading.household_token, grading.dropoff_id)
        reasons = check_reasons(grading.reasons)
        photo = await check_photo_ref(actor, grading.photo_ref)
        captured_at = check_captured_at(grading.captured_at)
        check_event_id(grading.event_id)
    except LedgerError as refusal:
        return refusal
    inputs = inspection_inputs(grading, reasons, photo, captured_at)
    key = fingerprint(OPERATION, actor.username, inputs)
    return Checked(actor, grading, reasons, photo, inputs, key, captured_at)


def inspection_inputs(
    grading: Grading, reasons: list[str], photo: str, captured_at: datetime | None
) -> dict[str, object]:
    """What a grading's fingerprint covers: a resend must match it exactly, alone or in a batch.
    A card's grading keeps the fingerprint it had before drop-offs could be graded."""
    subject: dict[str, object] = (
        {"household_token": grading.household_token}
        if grading.dropoff_id is None
        else {"dropoff_id": grading.dropoff_id}
    )
    return (
        subject
        | {
            "point_token": grading.point_token,
            "stream": grading.stream.value,
            "grade": grading.grade.value,
            "reasons": reasons,
            "photo_ref": photo,
        }
        | captured_input(captured_at)
    )


def check_reasons(reasons: list[str]) -> list[str]:
    if len(reasons) > REASONS_MAX:
        raise InvalidInput("reasons", f"at most {REASONS_MAX} reason codes")
    for reason in reasons:
        if (
            not reason
            or len(reason) > REASON_CODE_LENGTH_MAX
            or not reason.replace("_", "").isalnum()
        ):
            raise InvalidInput("reasons", "reason codes are short words like wrong_bin")
    return sorted(set(reasons))


async def check_photo_ref(actor: Principal, photo_ref: str | None) -> str:
    """A ref in this system's form (`sha256:…`) must name a photo this same user uploaded,
    checked before the event is recorded so the same event succeeds once the photo is uploaded;
    any other text is kept as given (a photo kept elsewhere). Another user's photo is refused
    exactly as an unknown one, so a grade never exposes another compound's photo to a
    household, and the refusal does not tell whether the ref exists."""
    if photo_ref is None:
        return ""
    if not 1 <= len(photo_ref) <= PHOTO_REF_LENGTH_MAX:
        raise InvalidInput("photo_ref", f"must be 1-{PHOTO_REF_LENGTH_MAX} characters")
    if is_photo_ref(photo_ref):
        check_ref(photo_ref, "photo_ref")
        if not await photo_store.uploaded_by(photo_ref, actor.username):
            raise InvalidInput(
                "photo_ref",
                "you have uploaded no photo with this ref: upload it (POST /api/v1/photos) first",
            )
    return photo_ref
