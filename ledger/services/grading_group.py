"""One group of gradings, written in one transaction: the only way a grading is written.

Every grading gets exactly the outcome it would get if the gradings of the group were sent one
after the other in the group's order: the same checks and refusals in the same order, the same
replays of stored outcomes, the same points, rows and facts. A group may hold the gradings of
several requests and several inspectors (`services/grading.py` collects them); each keeps its
own actor. On PostgreSQL a group of scanned cards costs five round trips whatever its size:
its reads in one statement before the lock, then the lock and the reads after it in one
(`store/group_reads.py`), and its writes, one statement per table (`store/batch_writes.py`)
riding on one INSERT, inside BEGIN and COMMIT; a group of one is the single credit. Should
the transaction fail for a reason that is not an event's own (another transaction stored one
of its event ids first, a deadlock, a lost connection), `Race` or the error goes to the
caller, which writes the gradings again one by one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import msgspec

from ledger.domain.access import Principal
from ledger.domain.accounts import AccountKind, issuance_stripe
from ledger.domain.capture import scan_moment
from ledger.domain.chain import SealableEntry
from ledger.domain.dropoffs import check_gradable, check_not_graded
from ledger.domain.earning import award_for_grade, day_so_far
from ledger.domain.entries import EntryKind
from ledger.domain.errors import IdempotencyConflict, LedgerError, NotFound, OutOfScope
from ledger.domain.localtime import local_day
from ledger.domain.rotation import NotAssigned, week_label, week_of
from ledger.domain.rules import Grade, Stream
from ledger.domain.scan_codes import CodeKind, ScanCode
from ledger.domain.short_codes import looks_typed
from ledger.services.codes import Codes, check_current
from ledger.services.dropoff_queue import graded_dropoff
from ledger.services.rules import RuleSet, rules_in_force, rules_over
from ledger.services.runner import replay
from ledger.services.scans import check_not_own_building
from ledger.store import batch_writes as store
from ledger.store import dropoffs as dropoff_store
from ledger.store import earning as earning_store
from ledger.store import facts, group_reads, idempotency
from ledger.store import ledger as ledger_store
from ledger.store.dropoffs import DropoffRow
from ledger.store.earning import Home, RuleRow, ScannedHousehold, ScannedPoint
from ledger.store.ledger import lot_expiry
from ledger.store.lots import open_many

OPERATION = "inspection"
R = TypeVar("R", ScannedHousehold, ScannedPoint)


@dataclass(frozen=True, slots=True)
class Graded:
    """What a grading did, as its reply and its stored outcome say (the stored record's keys)."""

    inspection_id: int
    entry_id: int | None
    points_awarded: int
    balance_points: int
    scored: bool
    capped: bool
    message: str

    def record(self) -> dict[str, Any]:
        """The stored outcome (idempotency record), built by hand: this is the hot path."""
        return {
            "inspection_id": self.inspection_id,
            "entry_id": self.entry_id,
            "points_awarded": self.points_awarded,
            "balance_points": self.balance_points,
            "scored": self.scored,
            "capped": self.capped,
            "message": self.message,
        }


Outcome = Graded | LedgerError


@dataclass(frozen=True, slots=True)
class Grading:
    """One `inspection` event, as a request or a batch names it."""

    event_id: str
    household_token: str | None
    point_token: str
    stream: Stream
    grade: Grade
    reasons: list[str]
    photo_ref: str | None
    captured_at: datetime | None = None
    dropoff_id: int | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """A grading whose input passed the checks made before any transaction, with its actor,
    the inputs its fingerprint covers, and that fingerprint."""

    actor: Principal
    grading: Grading
    reasons: list[str]
    photo: str
    inputs: dict[str, object]
    key: str
    captured_at: datetime | None


class Race(Exception):
    """Another transaction stored one of the group's event ids first, or the group's order
    cannot be kept in one transaction: the gradings go again, one by one."""


def check_compounds(
    actor: Principal, household: ScannedHousehold, point: ScannedPoint, day: date
) -> None:
    """Both compounds in the actor's scope on the local day the grading counts at: in a week
    the rotation plan gives an inspector assignments, only the compounds assigned."""
    assigned = actor.assigned_on(day)
    for compound_id in (household.compound, point.compound):
        if assigned is not None and compound_id not in assigned:
            raise NotAssigned(
                f"in the week of {day.isoformat()} ({week_label(week_of(day))}) you are "
                f"assigned to other compounds than compound {compound_id}",
                compound_id=compound_id,
                week=week_label(week_of(day)),
                assigned=sorted(assigned),
            )
        if assigned is None and not actor.grades_compound(compound_id, day):
            raise OutOfScope("this compound is not one you are assigned to")


@dataclass
class _Household:
    """A household's account as the batch goes: its balance and each day's grades so far."""

    balance: int
    days: dict[date, list[tuple[str, bool, int]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Scanned:
    """A grading whose codes (or drop-off) and scope passed."""

    index: int
    household: ScannedHousehold
    point: ScannedPoint
    dropoff: DropoffRow | None


@dataclass(frozen=True, slots=True)
class _Graded:
    """A grading whose codes and scope passed, with the rules and the moment it counts at."""

    index: int
    household: ScannedHousehold
    point: ScannedPoint
    rule: RuleSet
    moment: datetime
    dropoff: DropoffRow | None = None
    day: date = field(init=False)  # the moment's local day, worked out once (used six times)

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", local_day(self.moment))


class GradingGroup:
    """Decide and write a group of checked gradings (`run`: their outcomes, in order)."""

    def __init__(self, codes: Codes, now: datetime, checked: list[Checked]):
        self.codes, self.now, self.checked = codes, now, checked
        self.own: dict[int, Home | None] = {}  # staff members' own homes
        self.outcomes: list[Outcome | _Repeat | None] = [None] * len(checked)
        self.claims: list[idempotency.Claim] = []
        self.entries: list[SealableEntry] = []
        self.inspections: list[store.NewInspection] = []
        self.lots: list[tuple[int, int, int, date, datetime]] = []
        self.facts: list[tuple[int, str, str, date, datetime]] = []
        self.deltas: dict[int, int] = {}
        self.dropoff_streams: dict[int, set[str]] = {}  # graded so far, by drop-off id

    async def run(self) -> list[Outcome]:
        """Inside the caller's write transaction."""
        decoded = [await self._decoded(item) for item in self.checked]
        reads = await self._first_reads(decoded)
        codes = await self._first_sights(reads.stored, decoded)
        graded = await self._scanned(list(codes), codes, reads)
        await self._grade(graded, reads.rules)
        await self._write()
        decided = [o for o in self.outcomes if o is not None and not isinstance(o, _Repeat)]
        assert len(decided) == len(self.outcomes), "every grading has its outcome"
        return decided

    async def _decoded(self, item: Checked) -> _Decoded:
        """The scanned codes (not the typed ones) read in memory, before any statement: the
        rows they name are read with the stored outcomes. A code that cannot be read is kept
        as its refusal, which its event meets in its turn (`_first_sights`), if it has one."""
        found: list[ScanCode | LedgerError | None] = []
        tokens = (item.grading.household_token, item.grading.point_token)
        for token, kind in zip(tokens, (CodeKind.HOUSEHOLD, CodeKind.POINT), strict=True):
            if token is None or looks_typed(token):
                found.append(None)
                continue
            try:
                found.append(await self.codes.read(token, kind, item.actor))
            except LedgerError as refusal:
                found.append(refusal)
        return found[0], found[1]

    async def _first_reads(self, decoded: list[_Decoded]) -> group_reads.FirstReads:
        """One statement on PostgreSQL: the stored outcomes, the rows the scanned codes name,
        and the rules of their communities over the group's moments."""
        codes = [code for pair in decoded for code in pair if isinstance(code, ScanCode)]
        moments = [item.captured_at or self.now for item in self.checked]
        asked = group_reads.Asked(
            [item.grading.event_id for item in self.checked],
            [code.subject_id for code in codes if code.kind is CodeKind.HOUSEHOLD],
            [code.subject_id for code in codes if code.kind is CodeKind.POINT],
            min(moments),
            max(moments),
        )
        return await group_reads.first_reads(asked)

    async def _first_sights(
        self, prior: Mapping[str, idempotency.StoredOutcome], decoded: list[_Decoded]
    ) -> dict[int, tuple[ScanCode | None, ScanCode]]:
        """Stored and repeated event ids replay; the codes of the rest (first sight) are read.
        A code that cannot be read refuses its event and stores nothing, so a later event
        with the same id is a first sight too, as it would be sent alone after it."""
        first_seen: dict[str, int] = {}
        codes = {}
        for index, item in enumerate(self.checked):
            event_id = item.grading.event_id
            if event_id in prior:
                self.outcomes[index] = _replayed(prior[event_id], item.key)
                continue
            if event_id in first_seen:
                self.outcomes[index] = _Repeat(first_seen[event_id])
                continue
            try:
                codes[index] = await self._codes(item.actor, item.grading, decoded[index])
            except LedgerError as refusal:
                self._refuse(index, refusal)
                if not refusal.stored:
                    continue
            first_seen[event_id] = index
        return codes

    async def _codes(
        self, actor: Principal, grading: Grading, decoded: _Decoded
    ) -> tuple[ScanCode | None, ScanCode]:
        """Tokens are checked in memory (`_decoded`); a typed short code (staff only) is looked
        up, with its row, and refused there if its compound is not the actor's, as a scan alone
        refuses it (household first, then the point). A grading of a drop-off has the point's
        code only."""
        household = None
        if grading.household_token is not None:
            household = await self._code(
                actor, grading.household_token, CodeKind.HOUSEHOLD, decoded[0]
            )
        return household, await self._code(actor, grading.point_token, CodeKind.POINT, decoded[1])

    async def _code(
        self, actor: Principal, token: str, kind: CodeKind, decoded: ScanCode | LedgerError | None
    ) -> ScanCode:
        if looks_typed(token):
            return (await self.codes.resolve(token, kind, actor)).code
        if isinstance(decoded, LedgerError):
            raise decoded
        assert decoded is not None, "a scanned code is read in `_decoded`"
        return decoded

    async def _scanned(
        self,
        fresh: list[int],
        codes: dict[int, tuple[ScanCode | None, ScanCode]],
        reads: group_reads.FirstReads,
    ) -> list[_Scanned]:
        """The rows the codes (or drop-offs) name, checked as `Scans._scanned` checks them, in
        its order. Those of typed codes were not among the first reads: read here."""
        households: Mapping[int, ScannedHousehold | None] = reads.households
        points: Mapping[int, ScannedPoint | None] = reads.points
        cards = {c[0].subject_id for c in codes.values() if c[0] is not None}
        if unread := cards - households.keys():
            households = {**households, **await store.scanned_households(list(unread))}
        if unread := {c[1].subject_id for c in codes.values()} - points.keys():
            points = {**points, **await store.scanned_points(list(unread))}
        graded = []
        for index in fresh:
            if index not in codes:
                continue
            dropoff = None
            try:
                household_code, point_code = codes[index]
                if household_code is not None:
                    household = _current(household_code, households)
                    point = _current(point_code, points)
                else:
                    point = _current(point_code, points)
                    dropoff_id = self._checked(index).grading.dropoff_id
                    assert dropoff_id is not None, "check_subject: one of the two"
                    dropoff, household = await graded_dropoff(dropoff_id, point)
                actor = self.checked[index].actor
                day = local_day(self._checked(index).captured_at or self.now)
                check_compounds(actor, household, point, day)
                own = await self._own_home(actor)
                check_not_own_building(own, household.compound, household.building)
            except LedgerError as refusal:
                self._refuse(index, refusal)
                continue
            graded.append(_Scanned(index, household, point, dropoff))
        return graded

    async def _own_home(self, actor: Principal) -> Home | None:
        """The staff member's own home (none for most), read once per group."""
        if actor.household_id is None:
            return None
        if actor.household_id not in self.own:
            self.own[actor.household_id] = await earning_store.home(actor.household_id)
        return self.own[actor.household_id]

    async def _grade(self, scanned: list[_Scanned], rules: dict[int, list[RuleRow]]) -> None:
        """Lock, then read the days' grades and take the new ids (one round trip), then decide
        and credit each grading in order."""
        graded = await self._timed(scanned, rules)
        if not graded:
            return
        stripes = {g.index: await self._stripe(g.index, g.household) for g in graded}
        accounts = [g.household.account for g in graded]
        balances, grades, ids = await group_reads.lock_and_grades(
            accounts + [s for s in stripes.values() if s],
            [g.household.id for g in graded],
            sorted({g.day for g in graded}),
            entries=len(graded),
            inspections=len(graded),
        )
        state = {g.household.id: _Household(balances[g.household.account]) for g in graded}
        for household_id, day, stream, scored, points in grades:
            state[household_id].days.setdefault(day, []).append((stream, scored, points))
        dropoff_ids = [g.dropoff.id for g in graded if g.dropoff is not None]
        self.dropoff_streams = await dropoff_store.graded_streams_of(dropoff_ids)
        entry_ids, inspection_ids = iter(ids.entries), iter(ids.inspections)
        for item in graded:
            try:
                self._credit(item, state, balances, stripes[item.index], entry_ids, inspection_ids)
            except LedgerError as refusal:
                self._refuse(item.index, refusal)
                continue
            self._inspection(item)

    async def _timed(
        self, scanned: list[_Scanned], read: dict[int, list[RuleRow]]
    ) -> list[_Graded]:
        """The rules in force when each grading was captured (read with the first reads, or
        here for a community they did not cover), and the moment it counts at; a capture time
        beyond those rules' bounds, or a drop-off out of its 30 minutes, is refused, as
        `inspect` refuses it."""
        moments: dict[int, list[datetime]] = {}
        for item in scanned:
            moment = self._checked(item.index).captured_at or self.now
            moments.setdefault(item.household.community_id, []).append(moment)
        rules = {
            community: rules_in_force(read[community], sorted(set(times)))
            if community in read
            else await rules_over(community, sorted(set(times)))
            for community, times in moments.items()
        }
        graded = []
        for item in scanned:
            index, household, point, dropoff = item.index, item.household, item.point, item.dropoff
            captured_at = self._checked(index).captured_at
            rule = rules[household.community_id][captured_at or self.now]
            try:
                role = self.checked[index].actor.role
                moment = scan_moment(captured_at, self.now, role, rule.rules)
                if dropoff is not None:
                    check_gradable(dropoff.created_at, moment)
            except LedgerError as refusal:
                self._refuse(index, refusal)
                continue
            graded.append(_Graded(index, household, point, rule, moment, dropoff))
        return graded

    async def _stripe(self, index: int, household: ScannedHousehold) -> int | None:
        """The issuance stripe a credit of this event would come from (None: the community has
        no such account, which refuses the event only if it earns points, as in `inspect`)."""
        event_id = self._checked(index).grading.event_id
        try:
            return await ledger_store.community_account(
                household.community_id, AccountKind.ISSUANCE, issuance_stripe(event_id)
            )
        except NotFound:
            return None

    def _credit(
        self,
        graded: _Graded,
        state: dict[int, _Household],
        balances: dict[int, int],
        stripe: int | None,
        entry_ids: Iterator[int],
        inspection_ids: Iterator[int],
    ) -> None:
        index, household, rule = graded.index, graded.household, graded.rule
        item = self._checked(index)
        grading = item.grading
        books = state[household.id]
        streams = None
        if graded.dropoff is not None:
            streams = self.dropoff_streams.setdefault(graded.dropoff.id, set())
            check_not_graded(streams, grading.stream.value)
        today = books.days.setdefault(graded.day, [])
        already, points_today = day_so_far(today, grading.stream.value)
        award = award_for_grade(
            grading.grade,
            rule.rules,
            already_scored=already,
            points_today=points_today,
            kind=household.kind,
        )
        community_id = household.community_id
        if award.points > 0 and stripe is None:
            raise NotFound("issuance account of community", community_id)
        today.append((grading.stream.value, award.scored, award.points))
        if streams is not None:
            streams.add(grading.stream.value)
        account = household.account
        entry_id = None
        if award.points > 0:
            assert stripe is not None, "checked above"
            entry_id = next(entry_ids)
            balances[stripe] -= award.points
            books.balance += award.points
            self.deltas[stripe] = self.deltas.get(stripe, 0) - award.points
            self.deltas[account] = self.deltas.get(account, 0) + award.points
            self.entries.append(
                SealableEntry(
                    entry_id=entry_id,
                    community_id=community_id,
                    debit_account_id=stripe,
                    credit_account_id=account,
                    amount_points=award.points,
                    kind=EntryKind.INSPECTION.value,
                    debit_balance_after=balances[stripe],
                    credit_balance_after=books.balance,
                    event_id=grading.event_id,
                    reverses_entry_id=None,
                    rule_version=rule.version,
                    actor=item.actor.username,
                    memo=f"{grading.stream.value} {grading.grade.value}",
                    created_at=self.now,
                    captured_at=item.captured_at,
                )
            )
            self.lots.append((account, entry_id, award.points, lot_expiry(self.now), self.now))
            earned = {"account": account, "delta": award.points}
            self._fact(community_id, "earned", earned, graded.day)
        self.outcomes[index] = Graded(
            inspection_id=next(inspection_ids),
            entry_id=entry_id,
            points_awarded=award.points,
            balance_points=books.balance,
            scored=award.scored,
            capped=award.capped,
            message=award.explanation(),
        )

    def _inspection(self, graded: _Graded) -> None:
        index, household, point = graded.index, graded.household, graded.point
        item = self._checked(index)
        result = self.outcomes[index]
        assert isinstance(result, Graded), "decided by _credit"
        community_id = household.community_id
        self.inspections.append(
            store.NewInspection(
                inspection_id=result.inspection_id,
                community_id=community_id,
                compound=household.compound,
                household=household.id,
                point=point.id,
                inspector=item.actor.user_id,
                stream=item.grading.stream.value,
                grade=item.grading.grade.value,
                reasons=",".join(item.reasons),
                photo_ref=item.photo,
                local_day=graded.day,
                scored=result.scored,
                points_awarded=result.points_awarded,
                entry_id=result.entry_id,
                rule_version=graded.rule.version,
                created_at=self.now,
                dropoff_id=None if graded.dropoff is None else graded.dropoff.id,
            )
        )
        good = int(item.grading.grade is Grade.GOOD)
        grade_fact = {"compound": household.compound, "graded": 1, "good": good}
        self._fact(community_id, "grade", grade_fact, graded.day)
        taking_part = facts.participation(household.compound, household.id)
        self._fact(community_id, "participation", taking_part, graded.day)
        self._claim(index, idempotency.OUTCOME_OK, result.record())

    def _fact(self, community_id: int, kind: str, payload: dict[str, int], day: date) -> None:
        self.facts.append((community_id, kind, facts.payload_text(payload), day, self.now))

    def _refuse(self, index: int, refusal: LedgerError) -> None:
        """Recorded as `Runner.once` records a refusal, so a resend stays refused (unless the
        event's content alone refused it: `LedgerError.stored`)."""
        self.outcomes[index] = refusal
        if refusal.stored:
            self._claim(index, refusal.code, refusal.to_record())

    def _claim(self, index: int, outcome: str, result: dict[str, Any]) -> None:
        item = self._checked(index)
        self.claims.append(
            idempotency.Claim(
                event_id=item.grading.event_id,
                operation=OPERATION,
                fingerprint=item.key,
                outcome=outcome,
                result=result,
                inputs=item.inputs,
                actor=item.actor.username,
                role=item.actor.role.value,
            )
        )

    async def _write(self) -> None:
        """One statement per table, all riding on the claims' INSERT; then the repeats."""
        await store.move_points(self.deltas)
        await store.append_entries(self.entries)
        await open_many(self.lots)
        await store.record_facts(self.facts)
        await store.append_inspections(self.inspections)
        stored = await idempotency.claim_many(self.claims, now=self.now)
        if len(stored) != len(self.claims):
            raise Race("another request stored one of these event ids first")
        self._repeats()

    def _repeats(self) -> None:
        """An event id sent twice in one batch: the second replays the first's stored outcome
        (or is refused as a different request under the same id)."""
        for index, outcome in enumerate(self.outcomes):
            if not isinstance(outcome, _Repeat):
                continue
            first = self.outcomes[outcome.first]
            if self._checked(outcome.first).key == self._checked(index).key:
                self.outcomes[index] = first
            elif isinstance(first, LedgerError) and not first.stored:
                # Alone, the first would have left no record, and this one would be new.
                raise Race("an event id sent again, changed, after a refusal not stored")
            else:
                self.outcomes[index] = IdempotencyConflict(
                    "this event_id was already used for a different request",
                    operation=OPERATION,
                )

    def _checked(self, index: int) -> Checked:
        return self.checked[index]


def _current(code: ScanCode, rows: Mapping[int, R | None]) -> R:
    """The row a genuine code names, if it exists and its card was not re-issued."""
    row = rows.get(code.subject_id)
    check_current(code, None if row is None else row.card_serial)
    assert row is not None, "checked"
    return row


_Decoded = tuple[ScanCode | LedgerError | None, ScanCode | LedgerError | None]
"""A grading's household and point codes as read in memory (None: none, or a typed code)."""


@dataclass(frozen=True, slots=True)
class _Repeat:
    first: int


# What an outcome stored before `capped` and `message` existed replays with.
_BEFORE_CAP = {"capped": False, "message": ""}


def _replayed(prior: idempotency.StoredOutcome, key: str) -> Outcome:
    try:
        return msgspec.convert(_BEFORE_CAP | replay(prior, key), Graded)
    except LedgerError as refusal:
        return refusal
