"""Re-inspection sampling: a coordinator re-grades a drawn few of each inspector's gradings from
their photos; a disagreeing grade is corrected exactly as an upheld appeal corrects it.

The draw is a keyed lottery (ledger/domain/inspection_checks.py), made once per coordinator and
graded day and stored, so it is the same however often it is asked for, and an auditor holding
the secret can recompute it (docs/decisions/2026-12-06-fair-inspections.md).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import date, timedelta

from ledger.domain.access import Principal, Role
from ledger.domain.errors import AlreadyDecided, Forbidden, InvalidInput, NotFound
from ledger.domain.inspection_checks import disagreement_rate, draw_sample, sampling_seed
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade
from ledger.ports import Clock
from ledger.services.appeals import correct_grade
from ledger.services.reports import check_period
from ledger.services.runner import Runner
from ledger.store import appeals as appeals_store
from ledger.store import reinspections as store
from ledger.store.engine import Database, is_unique_violation
from ledger.store.reinspections import SampleRow
from ledger.store.replica import on_replica

CAUSE = "re-inspection"  # the memo of a correction's entries
DRAW_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ReinspectionItem:
    reinspection_id: int
    inspection_id: int
    inspector_id: int
    inspector: str
    compound_id: int
    household_id: int
    stream: str
    original_grade: str
    photo_ref: str  # GET /api/v1/photos/{photo_ref}
    offered_at: str
    regraded_grade: str | None
    decided_at: str | None


@dataclass(frozen=True, slots=True)
class ReinspectionSample:
    """A coordinator's draw of one graded day."""

    day: str
    coordinator_id: int
    items: list[ReinspectionItem]


@dataclass(frozen=True, slots=True)
class ReinspectionDecided:
    """A re-grade; the entries only when it disagreed and the grade was corrected."""

    reinspection_id: int
    inspection_id: int
    original_grade: str
    regraded_grade: str
    corrected: bool
    decided_by: str
    decided_at: str
    points_awarded: int | None = None
    credit_entry_id: int | None = None
    reversal_entry_id: int | None = None


@dataclass(frozen=True, slots=True)
class InspectorDisagreement:
    inspector_id: int
    inspector: str
    regraded: int
    disagreed: int
    disagreement_rate: float | None


@dataclass(frozen=True, slots=True)
class DisagreementReport:
    community_id: int
    first_day: date
    last_day: date
    rows: list[InspectorDisagreement]


def sampling_secret(key: bytes) -> bytes:
    """The draw's secret, derived from a signing key so it needs no setting of its own."""
    return hmac.new(key, b"greenledger reinspection sampling", hashlib.sha256).digest()


@dataclass(frozen=True)
class Reinspections:
    db: Database
    clock: Clock
    runner: Runner
    secret: bytes

    async def sample(self, actor: Principal, day: date | None = None) -> ReinspectionSample:
        """The coordinator's sample of a closed graded day (yesterday by default), drawn the
        first time it is asked for and stored; later calls read the stored draw."""
        graded_day = self._closed_day(actor, day)
        async with self.db.read():
            rows = await store.drawn(actor.user_id, graded_day)
        if rows:
            return _sample(actor, graded_day, rows)
        for attempt in range(1, DRAW_ATTEMPTS + 1):
            try:
                async with self.db.write():
                    rows = await self._draw(actor, graded_day)
                break
            except Exception as error:
                # Another draw took one of these gradings first (this coordinator's other
                # request, or another coordinator of the compound): draw again from what is left,
                # or read this coordinator's draw if it was theirs.
                if not is_unique_violation(error) or attempt == DRAW_ATTEMPTS:
                    raise
        return _sample(actor, graded_day, rows)

    async def regrade(
        self, actor: Principal, event_id: str, reinspection_id: int, grade: Grade
    ) -> ReinspectionDecided:
        """Once per drawn grading, by the coordinator it was offered to. A different grade is
        corrected through the appeal's path (the old credit reversed, the new one credited)."""
        _coordinator(actor)
        inputs = {"reinspection_id": reinspection_id, "grade": grade.value}

        async def action() -> ReinspectionDecided:
            row = await store.held(reinspection_id)
            if row is None:
                raise NotFound("reinspection", reinspection_id)
            if row.coordinator_id != actor.user_id:
                raise Forbidden("this grading was offered to another coordinator")
            if row.decided_at is not None:
                raise AlreadyDecided(f"reinspection {reinspection_id} is already re-graded")
            if await appeals_store.appealed(row.inspection_id):
                raise AlreadyDecided("the household appealed this grade; the appeal decides it")
            now = self.clock.now()
            decided = ReinspectionDecided(
                reinspection_id,
                row.inspection_id,
                row.original_grade,
                grade.value,
                grade.value != row.original_grade,
                actor.username,
                now.isoformat(),
            )
            if decided.corrected:
                fixed = await correct_grade(actor, event_id, row.inspection_id, grade, now, CAUSE)
                decided = replace(
                    decided,
                    points_awarded=fixed.points_awarded,
                    credit_entry_id=fixed.credit_entry_id,
                    reversal_entry_id=fixed.reversal_entry_id,
                )
            await store.decide(reinspection_id, grade.value, actor.user_id, now)
            return decided

        return await self.runner.once(
            "reinspection", event_id, actor, inputs, action, ReinspectionDecided
        )

    def _closed_day(self, actor: Principal, day: date | None) -> date:
        _coordinator(actor)
        today = local_day(self.clock.now())
        graded_day = day or today - timedelta(days=1)
        if graded_day >= today:
            raise InvalidInput("day", "a sample is drawn from a closed day: yesterday or before")
        return graded_day

    async def _draw(self, actor: Principal, day: date) -> list[SampleRow]:
        await store.hold_draws(actor.user_id)
        rows = await store.drawn(actor.user_id, day)
        if rows:
            return rows
        candidates = await store.candidates(sorted(actor.compound_ids), day)
        by_inspector: dict[int, list[int]] = {}
        for candidate in candidates:
            by_inspector.setdefault(candidate.inspector_id, []).append(candidate.inspection_id)
        chosen = draw_sample(by_inspector, sampling_seed(self.secret, actor.user_id, day))
        found = {c.inspection_id: c for c in candidates}
        await store.add(actor.user_id, day, [found[i] for i in chosen], self.clock.now())
        return await store.drawn(actor.user_id, day)


@on_replica
async def disagreement_report(community_id: int, first: date, last: date) -> DisagreementReport:
    """Per inspector, over the re-graded samples of graded days first..last: how many were
    re-graded, how many differed, and the share that differed."""
    await check_period(community_id, first, last)
    rows = await store.disagreements(community_id, first, last + timedelta(days=1))
    return DisagreementReport(
        community_id,
        first,
        last,
        [
            InspectorDisagreement(
                r.inspector_id,
                r.inspector,
                r.regraded,
                r.disagreed,
                disagreement_rate(r.regraded, r.disagreed),
            )
            for r in rows
        ],
    )


def _coordinator(actor: Principal) -> None:
    if actor.role is not Role.COORDINATOR:
        raise Forbidden("only coordinators re-grade sampled gradings")


def _sample(actor: Principal, day: date, rows: list[SampleRow]) -> ReinspectionSample:
    return ReinspectionSample(
        day.isoformat(),
        actor.user_id,
        [
            ReinspectionItem(
                reinspection_id=r.id,
                inspection_id=r.inspection_id,
                inspector_id=r.inspector_id,
                inspector=r.inspector,
                compound_id=r.compound_id,
                household_id=r.household_id,
                stream=r.stream,
                original_grade=r.original_grade,
                photo_ref=r.photo_ref,
                offered_at=r.offered_at.isoformat(),
                regraded_grade=r.regraded_grade,
                decided_at=None if r.decided_at is None else r.decided_at.isoformat(),
            )
            for r in rows
        ],
    )
