"""Volunteer time: check-in and check-out at a post, approval, back-filled hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ledger.domain.access import Principal, Role
from ledger.domain.capture import captured_input, check_captured_at, scan_moment
from ledger.domain.earning import (
    check_minutes_for_day,
    minutes_within_daily_max,
    next_star_hours,
    points_for_minutes,
    shift_minutes,
    star_level,
)
from ledger.domain.entries import EntryKind
from ledger.domain.errors import (
    AlreadyDecided,
    Forbidden,
    InvalidInput,
    NoOpenShift,
    NotFound,
    OutOfScope,
    OwnRecord,
    ShiftOpen,
)
from ledger.domain.localtime import day_start, local_day
from ledger.domain.rules import SHIFT_AUTO_CLOSE_MINUTES_MIN, EarningRules
from ledger.ports import Clock
from ledger.services.accounts import ScopedPage, scoped_page
from ledger.services.codes import Codes
from ledger.services.credits import credit_from_issuance
from ledger.services.rules import rules_at, rules_version
from ledger.services.runner import Runner
from ledger.store import earning as store
from ledger.store import facts, locks
from ledger.store import registry as registry_store
from ledger.store import shifts as shifts_store
from ledger.store.engine import Database
from ledger.store.registry import VolunteerRow
from ledger.store.shifts import NewShift, ShiftClosing, ShiftRow

BULK_SHIFTS_MAX = 500
STALE_BATCH = 200


@dataclass(frozen=True, slots=True)
class ShiftStarted:
    shift_id: int
    started_at: str


@dataclass(frozen=True, slots=True)
class ShiftClosed:
    """A check-out; `flagged` (with its `note`) when the shift had been left open too long
    and was closed automatically, with no minutes counted."""

    shift_id: int
    minutes: int
    status: str
    flagged: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class ShiftDecided:
    shift_id: int
    status: str
    entry_id: int | None
    points_awarded: int


@dataclass(frozen=True, slots=True)
class ShiftsDecided:
    results: list[ShiftDecided]


@dataclass(frozen=True, slots=True)
class HoursBackfilled:
    shift_id: int
    minutes: int
    points_awarded: int
    entry_id: int | None


@dataclass(frozen=True, slots=True)
class VolunteerHours:
    volunteer_id: int
    name: str
    approved_minutes: int
    backfilled_minutes: int
    pending_minutes: int
    total_hours: int
    star_level: int
    next_star_hours: int | None


@dataclass(frozen=True)
class Shifts:
    db: Database
    clock: Clock
    runner: Runner
    codes: Codes

    async def check_in(
        self,
        actor: Principal,
        event_id: str,
        post_token: str,
        captured_at: datetime | None = None,
    ) -> ShiftStarted:
        """At the scan's capture time (within the rules' bounds) or the server's; one open
        shift at a time (409 `shift_open`)."""
        volunteer_id = _volunteer_of(actor)
        captured_at = check_captured_at(captured_at)

        async def action() -> ShiftStarted:
            post = await self.codes.post(post_token, actor)
            volunteer = await _volunteer(volunteer_id)
            if post.community_id != volunteer.community_id:
                raise OutOfScope("this duty post belongs to another community")
            now = await _scan_moment(volunteer.community_id, actor, self.clock.now(), captured_at)
            current = await shifts_store.open_shift(volunteer_id)
            if current is not None and not await _close_if_stale(current, now):
                raise ShiftOpen(
                    f"shift {current.id} is still open; check out first", shift_id=current.id
                )
            shift_id = await shifts_store.add(
                NewShift(
                    community_id=volunteer.community_id,
                    compound_id=post.compound,
                    post_id=post.id,
                    volunteer_id=volunteer_id,
                    kind="regular",
                    status="open",
                    started_at=now,
                    local_day=local_day(now),
                    created_at=self.clock.now(),
                )
            )
            return ShiftStarted(shift_id, now.isoformat())

        inputs = {"post_token": post_token} | captured_input(captured_at)
        return await self.runner.once("check_in", event_id, actor, inputs, action, ShiftStarted)

    async def check_out(
        self,
        actor: Principal,
        event_id: str,
        post_token: str,
        captured_at: datetime | None = None,
    ) -> ShiftClosed:
        """Close the open shift at the same post: minutes rounded down to 15, capped per day.
        It ends at the scan's capture time (within the rules' bounds) or the server's."""
        volunteer_id = _volunteer_of(actor)
        captured_at = check_captured_at(captured_at)

        async def action() -> ShiftClosed:
            post = await self.codes.post(post_token, actor)
            community_id = (await _volunteer(volunteer_id)).community_id
            now = await _scan_moment(community_id, actor, self.clock.now(), captured_at)
            shift = await shifts_store.open_shift(volunteer_id)
            if shift is not None:  # lock it, then read it again: two check-outs close it once
                await shifts_store.lock(shift.id)
                shift = await shifts_store.open_shift(volunteer_id)
            if shift is None:
                raise NoOpenShift("there is no open shift to check out of")
            if await _close_if_stale(shift, now):
                # Say so, and keep the automatic close: a refusal would roll it back.
                note = "left open too long; closed automatically for a coordinator to review"
                return ShiftClosed(shift.id, 0, "pending", flagged=True, note=note)
            if shift.post_id != post.id:
                raise NoOpenShift(
                    "your open shift is at another post; check out there", post_id=shift.post_id
                )
            return await _close(shift, now)

        inputs = {"post_token": post_token} | captured_input(captured_at)
        return await self.runner.once("check_out", event_id, actor, inputs, action, ShiftClosed)

    async def decide(
        self, actor: Principal, event_id: str, shift_ids: list[int], approve: bool
    ) -> ShiftsDecided:
        """Approve (credit points per rule) or decline pending shifts, one or many, all or none."""
        if not 1 <= len(shift_ids) <= BULK_SHIFTS_MAX or len(set(shift_ids)) != len(shift_ids):
            raise InvalidInput("shift_ids", f"1-{BULK_SHIFTS_MAX} distinct shift ids")
        inputs = {"shift_ids": shift_ids, "approve": approve}

        async def action() -> ShiftsDecided:
            now = self.clock.now()
            return ShiftsDecided(
                [await _decide(actor, event_id, i, approve, now) for i in shift_ids]
            )

        return await self.runner.once(
            "shift_decision", event_id, actor, inputs, action, ShiftsDecided
        )

    async def backfill(
        self,
        actor: Principal,
        event_id: str,
        *,
        volunteer_id: int,
        compound_id: int,
        day: date,
        minutes: int,
        note: str,
    ) -> HoursBackfilled:
        """Hours entered by a coordinator: their own class, points only if the rule says so.
        Never one's own (403 `own_record`); the day's approved and back-filled minutes stay
        within the rules' daily maximum (422 `too_many_minutes`)."""
        if not 1 <= minutes <= 24 * 60:
            raise InvalidInput("minutes", "must be between 1 and 1440")
        if not note.strip():
            raise InvalidInput("note", "say where the hours come from")
        inputs = {
            "volunteer_id": volunteer_id,
            "compound_id": compound_id,
            "day": day.isoformat(),
            "minutes": minutes,
            "note": note.strip(),
        }

        async def action() -> HoursBackfilled:
            _not_own(actor, volunteer_id)
            if not actor.covers_compound(compound_id):
                raise OutOfScope("this compound is not one you coordinate")
            volunteer = await _volunteer(volunteer_id)
            if await registry_store.community_of_compound(compound_id) != volunteer.community_id:
                raise OutOfScope("this volunteer belongs to another community")
            now = self.clock.now()
            if day > local_day(now):
                raise InvalidInput(
                    "day", "back-filled hours cannot be in the future", by_clock=True
                )
            rule = await rules_at(volunteer.community_id, now)
            await _within_daily_max(volunteer, day, minutes, rule.rules)
            points = points_for_minutes(minutes, rule.rules.backfill_points_per_hour)
            shift_id = await shifts_store.add(
                NewShift(
                    community_id=volunteer.community_id,
                    compound_id=compound_id,
                    post_id=None,
                    volunteer_id=volunteer_id,
                    kind="backfill",
                    status="approved",
                    started_at=day_start(day),
                    ended_at=day_start(day),
                    local_day=day,
                    minutes=minutes,
                    note=note.strip(),
                    decided_by=actor.user_id,
                    decided_at=now,
                    rule_version=rule.version,
                    created_at=now,
                )
            )
            await _hours_fact(volunteer.community_id, volunteer_id, minutes, day, now)
            entry_id = await _credit_shift(
                shift_id, volunteer, points, event_id, actor, now, rule.version
            )
            return HoursBackfilled(shift_id, minutes, points, entry_id)

        return await self.runner.once("backfill", event_id, actor, inputs, action, HoursBackfilled)

    async def close_stale(self) -> int:
        """Close shifts left open past their community's limit (default 12 h), flagged, earning
        nothing. Candidates are those open longer than the shortest limit any rule allows; each
        is closed only if its own rule says so."""
        now = self.clock.now()
        cutoff = now - timedelta(minutes=SHIFT_AUTO_CLOSE_MINUTES_MIN)
        closed, after_id = 0, 0
        while True:
            async with self.db.write():
                batch = await shifts_store.stale_open_shifts(cutoff, STALE_BATCH, after_id)
                for shift in batch:
                    closed += await _close_if_stale(shift, now)
            if len(batch) < STALE_BATCH:
                return closed
            after_id = batch[-1].id

    async def page(
        self, viewer: Principal, status: str, cursor: str | None, limit: int
    ) -> ScopedPage:
        return await scoped_page(shifts_store.LISTED, viewer, {"status": status}, cursor, limit)

    async def hours(self, viewer: Principal, volunteer_id: int) -> VolunteerHours:
        """Hours kept forever, by class and status, with the star level."""
        volunteer = await _volunteer(volunteer_id)
        if viewer.role is Role.VOLUNTEER and viewer.volunteer_id != volunteer_id:
            raise Forbidden("these are another volunteer's hours")
        if viewer.volunteer_id != volunteer_id and not await _coordinates(viewer, volunteer):
            raise OutOfScope("this volunteer serves in a community you do not coordinate")
        totals = {"approved": 0, "backfilled": 0, "pending": 0}
        for row in await shifts_store.minutes_of(volunteer_id):
            if row.status == "approved":
                totals["backfilled" if row.kind == "backfill" else "approved"] += row.minutes
            elif row.status == "pending":
                totals["pending"] += row.minutes
        served = totals["approved"] + totals["backfilled"]
        return VolunteerHours(
            volunteer_id=volunteer_id,
            name=volunteer.name,
            approved_minutes=totals["approved"],
            backfilled_minutes=totals["backfilled"],
            pending_minutes=totals["pending"],
            total_hours=served // 60,
            star_level=star_level(served),
            next_star_hours=next_star_hours(served),
        )


async def _scan_moment(
    community_id: int, actor: Principal, now: datetime, captured_at: datetime | None
) -> datetime:
    """When a check-in or check-out happened: its capture time, within the bounds of the
    rules in force then (422 `captured_at_out_of_range`), or the server's time."""
    rule = await rules_at(community_id, captured_at or now)
    return scan_moment(captured_at, now, actor.role, rule.rules)


async def _close(shift: ShiftRow, now: datetime) -> ShiftClosed:
    rule = await rules_at(shift.community_id, shift.started_at)
    elapsed = int((now - shift.started_at).total_seconds())
    counted = await store.shift_minutes_on(shift.volunteer_id, shift.local_day, shift.id)
    minutes = minutes_within_daily_max(shift_minutes(elapsed, rule.rules), counted, rule.rules)
    status = "pending" if minutes > 0 else "declined"
    note = "" if minutes > 0 else "shorter than the minimum unit, or the day's maximum was reached"
    await shifts_store.close(shift.id, ShiftClosing(status, now, minutes, rule.version, note))
    return ShiftClosed(shift.id, minutes, status)


async def _close_if_stale(shift: ShiftRow, now: datetime) -> bool:
    """A shift open past the limit is closed at the limit and flagged, with no minutes counted:
    nobody knows when the volunteer left. It waits for a coordinator, who may back-fill the
    real hours."""
    rule = await rules_at(shift.community_id, shift.started_at)
    limit = shift.started_at + timedelta(minutes=rule.rules.shift_auto_close_minutes)
    if now < limit:
        return False
    note = "left open; closed automatically"
    closing = ShiftClosing("pending", limit, 0, rule.version, note, flagged=True)
    await shifts_store.close(shift.id, closing)
    return True


async def _decide(
    actor: Principal, event_id: str, shift_id: int, approve: bool, now: datetime
) -> ShiftDecided:
    shift = await shifts_store.held(shift_id)
    if shift is None:
        raise NotFound("shift", shift_id)
    if not actor.covers_compound(shift.compound_id):
        raise OutOfScope(f"shift {shift_id} is in a compound you do not coordinate")
    if shift.status != "pending":
        raise AlreadyDecided(f"shift {shift_id} is {shift.status}", shift_id=shift_id)
    points, entry_id = 0, None
    if approve:
        _not_own(actor, shift.volunteer_id)
        rule = await rules_version(shift.community_id, shift.rule_version or 0)
        points = points_for_minutes(shift.minutes, rule.rules.shift_points_per_hour)
        volunteer = await _volunteer(shift.volunteer_id)
        await _within_daily_max(volunteer, shift.local_day, shift.minutes, rule.rules)
        entry_id = await _credit_shift(
            shift_id, volunteer, points, event_id, actor, now, rule.version
        )
    status = "approved" if approve else "declined"
    if approve:
        await _hours_fact(
            shift.community_id, shift.volunteer_id, shift.minutes, shift.local_day, now
        )
    await shifts_store.decided(shift_id, status, actor.user_id, now, points, entry_id)
    return ShiftDecided(shift_id, status, entry_id, points)


def _not_own(actor: Principal, volunteer_id: int) -> None:
    if actor.volunteer_id == volunteer_id:
        raise OwnRecord("staff never approve or back-fill their own volunteer hours")


async def _within_daily_max(
    volunteer: VolunteerRow, day: date, minutes: int, rules: EarningRules
) -> None:
    """Lock the volunteer's account first, so two approvals or back-fills of one day are
    decided one after the other, the second counting the first's minutes."""
    await locks.lock_account(volunteer.account_id)
    served = await store.served_minutes_on(volunteer.id, day)
    check_minutes_for_day(minutes, served, rules)


async def _credit_shift(
    shift_id: int,
    volunteer: VolunteerRow,
    points: int,
    event_id: str,
    actor: Principal,
    now: datetime,
    rule_version: int,
) -> int | None:
    if points <= 0:
        return None
    posted = await credit_from_issuance(
        community_id=volunteer.community_id,
        account_id=volunteer.account_id,
        amount_points=points,
        kind=EntryKind.SHIFT,
        event_id=event_id,
        actor=actor.username,
        now=now,
        memo=f"shift {shift_id}",
        rule_version=rule_version,
    )
    return posted.entry_id


async def _hours_fact(
    community_id: int, volunteer_id: int, minutes: int, day: date, now: datetime
) -> None:
    if minutes > 0:
        payload = {"volunteer": volunteer_id, "minutes": minutes}
        await facts.record(community_id, "hours", payload, day, now)


async def _coordinates(viewer: Principal, volunteer: VolunteerRow) -> bool:
    """Admins see every volunteer; a coordinator those of the communities they serve."""
    if viewer.role is Role.ADMIN:
        return True
    if viewer.role is not Role.COORDINATOR:
        return False
    for compound_id in viewer.compound_ids:
        if await registry_store.community_of_compound(compound_id) == volunteer.community_id:
            return True
    return False


def _volunteer_of(actor: Principal) -> int:
    if actor.volunteer_id is None:
        raise Forbidden("only a registered volunteer can check in and out")
    return actor.volunteer_id


async def _volunteer(volunteer_id: int) -> VolunteerRow:
    volunteer = await registry_store.volunteer(volunteer_id)
    if volunteer is None:
        raise NotFound("volunteer", volunteer_id)
    return volunteer
