"""A household contests a grade; a coordinator decides, and both sides are recorded."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ledger.domain.access import Principal, helper_label
from ledger.domain.earning import award_for_grade
from ledger.domain.entries import EntryKind, reversal_of
from ledger.domain.errors import (
    AlreadyDecided,
    AppealClosed,
    Forbidden,
    InvalidInput,
    NotFound,
    OutOfScope,
)
from ledger.domain.rules import Grade
from ledger.ports import Clock
from ledger.services.accounts import ScopedPage, scoped_page
from ledger.services.credits import credit_from_issuance
from ledger.services.rules import rules_version
from ledger.services.runner import Runner
from ledger.store import appeals as appeals_store
from ledger.store import earning as store
from ledger.store import facts, locks
from ledger.store import ledger as ledger_store
from ledger.store import registry as registry_store
from ledger.store import reinspections as reinspections_store
from ledger.store.appeals import AppealClosing, InspectionRow, NewAppeal

REASON_LENGTH_MAX = 500


@dataclass(frozen=True, slots=True)
class AppealOpened:
    appeal_id: int
    status: str


@dataclass(frozen=True, slots=True)
class AppealDecided:
    """A decision; the new grade, its points and the entries only when upheld."""

    appeal_id: int
    status: str
    decided_by: str
    decided_at: str
    new_grade: str | None = None
    points_awarded: int | None = None
    credit_entry_id: int | None = None
    reversal_entry_id: int | None = None


@dataclass(frozen=True, slots=True)
class Regraded:
    credit_entry_id: int | None
    reversal_entry_id: int | None
    points_awarded: int


@dataclass(frozen=True)
class Appeals:
    clock: Clock
    runner: Runner

    async def open(
        self, actor: Principal, event_id: str, inspection_id: int, reason: str
    ) -> AppealOpened:
        """Once per grade, by a member of the graded household, within the rule's days."""
        text = reason.strip()
        if not 1 <= len(text) <= REASON_LENGTH_MAX:
            raise InvalidInput("reason", f"say why, in 1-{REASON_LENGTH_MAX} characters")
        inputs: dict[str, object] = {"inspection_id": inspection_id, "reason": text}
        if actor.helping:  # the audit log says when a helper appealed for a household
            graded = await appeals_store.graded_household(inspection_id)
            if graded is not None and (by := helper_label(actor, graded)):
                inputs["by"] = by

        async def action() -> AppealOpened:
            inspection = await _inspection(inspection_id)
            if inspection.household_id not in actor.households():
                raise Forbidden("only a member of the graded household may appeal")
            now = self.clock.now()
            rule = await rules_version(inspection.community_id, inspection.rule_version)
            if now - inspection.created_at > timedelta(days=rule.rules.appeal_days):
                raise AppealClosed(f"grades can be appealed within {rule.rules.appeal_days} days")
            if await appeals_store.appealed(inspection_id):
                raise AppealClosed("this grade has already been appealed")
            if await reinspections_store.corrected(inspection_id):
                raise AppealClosed("this grade was already corrected on re-inspection")
            appeal_id = await appeals_store.add(
                NewAppeal(
                    inspection_id=inspection_id,
                    household_id=inspection.household_id,
                    compound_id=inspection.compound_id,
                    reason=text,
                    opened_by=actor.user_id,
                    created_at=now,
                )
            )
            return AppealOpened(appeal_id, "open")

        return await self.runner.once("appeal", event_id, actor, inputs, action, AppealOpened)

    async def page(
        self, viewer: Principal, status: str, cursor: str | None, limit: int
    ) -> ScopedPage:
        return await scoped_page(appeals_store.LISTED, viewer, {"status": status}, cursor, limit)

    async def decide(
        self, actor: Principal, event_id: str, appeal_id: int, upheld: bool, new_grade: Grade | None
    ) -> AppealDecided:
        """Upheld: the old credit is reversed and the new grade credited, both linked."""
        if upheld and new_grade is None:
            raise InvalidInput("new_grade", "an upheld appeal needs the corrected grade")
        inputs = {
            "appeal_id": appeal_id,
            "upheld": upheld,
            "new_grade": new_grade and new_grade.value,
        }

        async def action() -> AppealDecided:
            appeal = await appeals_store.held(appeal_id)
            if appeal is None:
                raise NotFound("appeal", appeal_id)
            if not actor.covers_compound(appeal.compound_id):
                raise OutOfScope("this appeal is in a compound you do not coordinate")
            if appeal.status != "open":
                raise AlreadyDecided(f"appeal {appeal_id} is already {appeal.status}")
            now = self.clock.now()
            if not upheld:
                return await _close(actor, appeal_id, now, None, None)
            assert new_grade is not None
            inspection = await _inspection(appeal.inspection_id)
            regraded = await _regrade(actor, event_id, inspection, new_grade, now)
            return await _close(actor, appeal_id, now, new_grade, regraded)

        return await self.runner.once(
            "appeal_decision", event_id, actor, inputs, action, AppealDecided
        )


async def correct_grade(
    actor: Principal, event_id: str, inspection_id: int, new_grade: Grade, now: datetime, cause: str
) -> Regraded:
    """The one correction of a grade, in the caller's transaction: an upheld appeal's, and a
    re-inspection's that disagrees (services/reinspections.py), so points move the same way."""
    return await _regrade(actor, event_id, await _inspection(inspection_id), new_grade, now, cause)


async def _regrade(
    actor: Principal,
    event_id: str,
    inspection: InspectionRow,
    new_grade: Grade,
    now: datetime,
    cause: str = "appeal",
) -> Regraded:
    """Credit the new grade (within that day's cap), then reverse the old credit."""
    household = await registry_store.household(inspection.household_id)
    assert household is not None, "foreign key"
    await locks.lock_account(household.account_id)
    if cause == "appeal" and await reinspections_store.corrected(inspection.id):
        # Checked again under the account's lock, which a re-grade's correction holds until it
        # commits: an appeal opened while that correction was in flight passed open()'s check,
        # and a second correction would add a credit without reversing the first (review19).
        raise AppealClosed("this grade was already corrected on re-inspection; reject the appeal")
    if cause != "appeal" and await appeals_store.appealed(inspection.id):
        raise AlreadyDecided("the household appealed this grade; the appeal decides it")
    rule = await rules_version(inspection.community_id, inspection.rule_version)
    _, points_that_day = await store.grading_today(
        inspection.household_id, inspection.local_day, inspection.stream
    )
    others = points_that_day - inspection.points_awarded
    award = award_for_grade(
        new_grade,
        rule.rules,
        already_scored=not inspection.scored,
        points_today=others,
        kind=household.kind,
    )
    credit_entry = None
    if award.points > 0:
        posted = await credit_from_issuance(
            community_id=inspection.community_id,
            account_id=household.account_id,
            amount_points=award.points,
            kind=EntryKind.INSPECTION,
            event_id=event_id,
            actor=actor.username,
            now=now,
            memo=f"{cause} of inspection {inspection.id}: {new_grade.value}",
            rule_version=rule.version,
        )
        credit_entry = posted.entry_id
    reversal_entry = await _reverse_original(inspection, actor, event_id, now, cause)
    await appeals_store.regraded(inspection.id, new_grade.value, award.points)
    good_change = int(new_grade is Grade.GOOD) - int(inspection.final_grade == Grade.GOOD.value)
    if good_change:
        payload = {"compound": inspection.compound_id, "graded": 0, "good": good_change}
        await facts.record(inspection.community_id, "grade", payload, inspection.local_day, now)
    return Regraded(credit_entry, reversal_entry, award.points)


async def _reverse_original(
    inspection: InspectionRow, actor: Principal, event_id: str, now: datetime, cause: str
) -> int | None:
    if inspection.entry_id is None:
        return None
    original = await ledger_store.find_entry(inspection.entry_id)
    assert original is not None, "an inspection's entry exists"
    if await ledger_store.reversal_of_entry(original.entry_id) is not None:
        return None
    memo = (
        f"appeal upheld for inspection {inspection.id}"
        if cause == "appeal"
        else f"{cause} corrected inspection {inspection.id}"
    )
    posted = await ledger_store.post(
        reversal_of(original, memo), event_id=event_id, actor=actor.username, now=now
    )
    return posted.entry_id


async def _close(
    actor: Principal,
    appeal_id: int,
    now: datetime,
    new_grade: Grade | None,
    regraded: Regraded | None,
) -> AppealDecided:
    """Upheld with its new grade and what the regrade posted; else rejected."""
    status = "rejected" if regraded is None else "upheld"
    closing = AppealClosing(status, actor.user_id, now)
    decided = AppealDecided(appeal_id, status, actor.username, now.isoformat())
    if regraded is not None and new_grade is not None:
        closing = replace(
            closing,
            new_grade=new_grade.value,
            reversal_entry_id=regraded.reversal_entry_id,
            credit_entry_id=regraded.credit_entry_id,
        )
        decided = replace(
            decided,
            new_grade=new_grade.value,
            points_awarded=regraded.points_awarded,
            credit_entry_id=regraded.credit_entry_id,
            reversal_entry_id=regraded.reversal_entry_id,
        )
    await appeals_store.close(appeal_id, closing)
    return decided


async def _inspection(inspection_id: int) -> InspectionRow:
    inspection = await appeals_store.inspection(inspection_id)
    if inspection is None:
        raise NotFound("inspection", inspection_id)
    return inspection
