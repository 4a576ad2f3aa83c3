"""Grading a drop-off: one path for a single scan and a batch, committed in groups.

Each process has one committer (`Gradings`). A grading is checked (what is refused before
anything is recorded), then joins the group being prepared while the previous group's
transaction is in flight; when that transaction ends, everything waiting goes in the next one.
There is no timer: an idle server commits a lone grading at once, a busy one commits in larger
groups and pays one transaction, one set of statements and one fsync per group instead of per
grading (docs/decisions/2026-12-06-group-commit.md). A request's gradings (a batch) stay
together and in order in one group.

`GradingGroup` decides each grading exactly as if the group's gradings had been sent one after
the other. Should a group's transaction fail for a reason that is not a grading's own (another
process stored one of its event ids first, a deadlock, a lost connection), each grading goes
again in a group of its own, retried as `Runner.once` retries: a lost race or a transient error
for one grading never fails the others.
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
from ledger.domain.rules import Grade, Stream
from ledger.ports import Clock
from ledger.services.codes import Codes
from ledger.services.dropoff_queue import check_subject
from ledger.services.grading_group import OPERATION, Checked, Grading, GradingGroup, Outcome, Race
from ledger.services.runner import Result
from ledger.store import photos as photo_store
from ledger.store.connections import is_unavailable
from ledger.store.engine import TRANSIENT_RETRIES, Database, is_transient, is_unique_violation

log = logging.getLogger(__name__)

REASONS_MAX = 10
REASON_CODE_LENGTH_MAX = 32
PHOTO_REF_LENGTH_MAX = 200

__all__ = ["Grading", "Gradings", "Outcome"]


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
        self._waiting: list[_Waiting] = []
        self._committing: asyncio.Task[None] | None = None

    async def inspect(
        self,
        actor: Principal,
        event_id: str,
        household_token: str | None,
        point_token: str,
        stream: Stream,
        grade: Grade,
        reasons: list[str],
        photo_ref: str | None,
        captured_at: datetime | None = None,
        dropoff_id: int | None = None,
    ) -> Result:
        """Grade a drop-off; the first grade per stream and day scores, up to the cap. The day
        is the one the grade was captured on (`captured_at`, within the rules' bounds). The
        household is named by its card (`household_token`) or by a resident's drop-off at this
        point in the last 30 minutes (`dropoff_id`: once per stream, 422 `dropoff_expired`)."""
        grading = Grading(
            event_id,
            household_token,
            point_token,
            stream,
            grade,
            reasons,
            photo_ref,
            captured_at,
            dropoff_id,
        )
        (outcome,) = await self.inspect_many(actor, [grading])
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    async def inspect_many(self, actor: Principal, gradings: Sequence[Grading]) -> list[Outcome]:
        """The outcome of each grading, in order: a result or the refusal."""
        checked = [await _check(actor, grading) for grading in gradings]
        loop = asyncio.get_running_loop()
        waiting = [
            _Waiting(item, loop.create_future()) for item in checked if isinstance(item, Checked)
        ]
        self._waiting.extend(waiting)  # in one step: a request's gradings stay together
        if waiting:
            self._start(loop)
        decided = iter(await asyncio.gather(*(w.done for w in waiting)))
        outcomes = [item if isinstance(item, LedgerError) else next(decided) for item in checked]
        for item in checked:
            if isinstance(item, LedgerError):
                metrics.write_answered(OPERATION, item.code)
        return outcomes

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start committing unless a commit is under way on this loop (it takes the new
        arrivals in its next group). Its own empty context: a group is no one request's."""
        task = self._committing
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        # Left by a loop that has closed (tests run one loop after another): nobody waits.
        self._waiting = [item for item in self._waiting if item.done.get_loop() is loop]
        self._committing = loop.create_task(self._commit_all(), context=contextvars.Context())

    async def _commit_all(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await self._commit(group)
            except BaseException as error:  # cancelled at shut-down: nobody is left waiting
                for item in group + self._waiting:
                    if item.done.done():
                        continue
                    if isinstance(error, asyncio.CancelledError):
                        item.done.cancel()
                    else:
                        item.done.set_exception(error)
                self._waiting = []
                raise

    async def _commit(self, group: list[_Waiting]) -> None:
        started = time.perf_counter()
        metrics.grading_group(len(group), [started - item.arrived for item in group])
        try:
            outcomes = await self._written([item.checked for item in group])
        except Exception as error:
            if is_unavailable(error) or (len(group) == 1 and not _retried(error)):
                # The database is away (each alone would wait for it again), or a lone
                # grading met an error no retry cures: its request answers with it.
                _fail(group, error)
                return
            level = logging.INFO if _retried(error) else logging.WARNING
            log.log(level, "group of %d gradings goes one by one after %r", len(group), error)
            for item in group:
                await self._alone(item)
            return
        _settle(group, outcomes)

    async def _alone(self, item: _Waiting) -> None:
        """One grading in a group of its own, retried as `Runner.once` retries."""
        event_id = item.checked.grading.event_id
        for attempt in range(1, TRANSIENT_RETRIES + 1):
            try:
                (outcome,) = await self._written([item.checked])
            except Exception as error:
                if _retried(error) and attempt < TRANSIENT_RETRIES:
                    log.info("retrying inspection %s after %r", event_id, error)
                    continue
                _fail([item], error)
                return
            _settle([item], [outcome])
            return

    async def _written(self, checked: list[Checked]) -> list[Outcome]:
        async with self.db.write():
            return await GradingGroup(self.codes, self.clock.now(), checked).run()


def _retried(error: Exception) -> bool:
    """Not the grading's own failure: written again, it may well go through."""
    return isinstance(error, Race) or is_transient(error) or is_unique_violation(error)


def _fail(group: list[_Waiting], error: Exception) -> None:
    for item in group:
        if not item.done.done():
            item.done.set_exception(error)


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
