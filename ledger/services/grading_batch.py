"""Many graded drop-offs of one inspector at once: the offline batch's fast path.

Every event gets exactly the outcome `Scans.inspect` would give it when the events are sent one
after the other in the batch's order: the same checks and refusals in the same order, the same
replays of stored outcomes, the same points, rows and facts. What differs is how the work
travels: on PostgreSQL the batch is one transaction at one instant, with one statement per
table (`store/batch_writes.py`) instead of eleven round trips per event, so the events of a
batch cost little more than their rows. Equivalence is tested event by event against
`Scans.inspect` (tests/integration/test_grading_batch.py).

Should the transaction fail for a reason that is not an event's own (another request claimed
one of its event ids first, a deadlock, a lost connection), the batch is rolled back and every
event goes through `Scans.inspect` on its own, which retries and replays as it always does. On
SQLite the events go through `Scans.inspect` one by one (there a statement is a function call).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ledger import metrics
from ledger.domain.access import Principal
from ledger.domain.accounts import AccountKind, issuance_stripe
from ledger.domain.capture import check_captured_at, scan_moment
from ledger.domain.chain import SealableEntry
from ledger.domain.dropoffs import check_gradable, check_not_graded
from ledger.domain.earning import award_for_grade, day_so_far
from ledger.domain.entries import EntryKind
from ledger.domain.errors import (
    IdempotencyConflict,
    LedgerError,
    NotFound,
)
from ledger.domain.idempotency import check_event_id, fingerprint
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Stream
from ledger.domain.scan_codes import CodeKind, ScanCode
from ledger.services.codes import current_row
from ledger.services.dropoff_queue import check_subject, graded_dropoff
from ledger.services.rules import RuleSet, rules_over
from ledger.services.runner import Result, replay
from ledger.services.scans import (
    Scans,
    check_compounds,
    check_not_own_building,
    check_photo_ref,
    check_reasons,
    inspection_inputs,
    participation,
)
from ledger.store import batch_writes as store
from ledger.store import idempotency
from ledger.store import ledger as ledger_store
from ledger.store import registry as registry_store
from ledger.store.engine import is_sqlite, is_transient, is_unique_violation
from ledger.store.ledger import lot_expiry
from ledger.store.lots import open_many
from ledger.store.tables import Household

log = logging.getLogger(__name__)
OPERATION = "inspection"
Outcome = Result | LedgerError


@dataclass(frozen=True, slots=True)
class Grading:
    """One `inspection` event of a batch, as `Scans.inspect` takes it."""

    event_id: str
    household_token: str | None
    point_token: str
    stream: Stream
    grade: Grade
    reasons: list[str]
    photo_ref: str | None
    captured_at: datetime | None = None
    dropoff_id: int | None = None


@dataclass(frozen=True)
class GradingBatches:
    scans: Scans

    async def inspect_many(self, actor: Principal, gradings: Sequence[Grading]) -> list[Outcome]:
        """The outcome of each grading, in order: a result or the refusal."""
        if is_sqlite() or len(gradings) < 2:
            return [await self._one(actor, grading) for grading in gradings]
        checked = [await _check(actor, grading) for grading in gradings]
        try:
            outcomes = await _Batch(self.scans, actor, checked).run()
        except _Race as race:
            log.info("batch of %d gradings goes one by one: %s", len(gradings), race)
        except Exception as error:
            if not (is_transient(error) or is_unique_violation(error)):
                raise
            log.info("batch of %d gradings goes one by one after %r", len(gradings), error)
        else:
            _count(outcomes)
            return outcomes
        return [await self._one(actor, grading) for grading in gradings]

    async def _one(self, actor: Principal, grading: Grading) -> Outcome:
        try:
            return await self.scans.inspect(
                actor,
                grading.event_id,
                grading.household_token,
                grading.point_token,
                grading.stream,
                grading.grade,
                grading.reasons,
                grading.photo_ref,
                grading.captured_at,
                grading.dropoff_id,
            )
        except LedgerError as refusal:
            return refusal


def _count(outcomes: list[Outcome]) -> None:
    """A group's gradings in the metrics, as Runner.once counts one grading on its own."""
    metrics.batch("grading_group", len(outcomes))
    for outcome in outcomes:
        code = outcome.code if isinstance(outcome, LedgerError) else "ok"
        metrics.write_answered("inspection", code)


class _Race(Exception):
    """Another transaction stored one of the batch's event ids first."""


@dataclass(frozen=True, slots=True)
class _Checked:
    """A grading whose input passed the checks `inspect` makes before its transaction."""

    grading: Grading
    reasons: list[str]
    photo: str
    inputs: dict[str, object]
    key: str
    captured_at: datetime | None


async def _check(actor: Principal, grading: Grading) -> _Checked | LedgerError:
    """What `Scans.inspect` refuses before it records anything (nothing is stored for these)."""
    try:
        check_subject(grading.household_token, grading.dropoff_id)
        reasons = check_reasons(grading.reasons)
        photo = await check_photo_ref(actor, grading.photo_ref)
        captured_at = check_captured_at(grading.captured_at)
        check_event_id(grading.event_id)
    except LedgerError as refusal:
        return refusal
    inputs = inspection_inputs(
        grading.household_token,
        grading.point_token,
        grading.stream,
        grading.grade,
        reasons,
        photo,
        captured_at,
        grading.dropoff_id,
    )
    key = fingerprint(OPERATION, actor.username, inputs)
    return _Checked(grading, reasons, photo, inputs, key, captured_at)


@dataclass
class _Household:
    """A household's account as the batch goes: its balance and each day's grades so far."""

    balance: int
    days: dict[date, list[tuple[str, bool, int]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Scanned:
    """A grading whose codes (or drop-off) and scope passed."""

    index: int
    household: dict[str, Any]
    point: dict[str, Any]
    dropoff: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class _Graded:
    """A grading whose codes and scope passed, with the rules and the moment it counts at."""

    index: int
    household: dict[str, Any]
    point: dict[str, Any]
    rule: RuleSet
    moment: datetime
    dropoff: dict[str, Any] | None = None

    @property
    def day(self) -> date:
        return local_day(self.moment)


class _Batch:
    def __init__(self, scans: Scans, actor: Principal, checked: list[_Checked | LedgerError]):
        self.scans, self.actor, self.checked = scans, actor, checked
        self.now = scans.clock.now()
        self.outcomes: list[Outcome | _Repeat | None] = [
            item if isinstance(item, LedgerError) else None for item in checked
        ]
        self.claims: list[idempotency.Claim] = []
        self.entries: list[SealableEntry] = []
        self.inspections: list[store.NewInspection] = []
        self.lots: list[tuple[int, int, int, date, datetime]] = []
        self.facts: list[tuple[int, str, str, date, datetime]] = []
        self.deltas: dict[int, int] = {}
        self.dropoff_streams: dict[int, set[str]] = {}  # graded so far, by drop-off id

    async def run(self) -> list[Outcome]:
        async with self.scans.runner.db.write():
            codes = await self._first_sights()
            graded = await self._scanned(list(codes), codes)
            await self._grade(graded)
            await self._write()
        decided = [o for o in self.outcomes if o is not None and not isinstance(o, _Repeat)]
        assert len(decided) == len(self.outcomes), "every grading has its outcome"
        return decided

    async def _first_sights(self) -> dict[int, tuple[ScanCode | None, ScanCode]]:
        """Stored and repeated event ids replay; the codes of the rest (first sight) are read.
        A code that cannot be read refuses its event and stores nothing, so a later event
        with the same id is a first sight too, as it would be sent alone after it."""
        event_ids = [item.grading.event_id for item in self.checked if isinstance(item, _Checked)]
        prior = await idempotency.find_many(event_ids)
        first_seen: dict[str, int] = {}
        codes = {}
        for index, item in enumerate(self.checked):
            if not isinstance(item, _Checked):
                continue
            event_id = item.grading.event_id
            if event_id in prior:
                self.outcomes[index] = _replayed(prior[event_id], item.key)
                continue
            if event_id in first_seen:
                self.outcomes[index] = _Repeat(first_seen[event_id])
                continue
            try:
                codes[index] = await self._codes(item.grading)
            except LedgerError as refusal:
                self._refuse(index, refusal)
                if not refusal.stored:
                    continue
            first_seen[event_id] = index
        return codes

    async def _codes(self, grading: Grading) -> tuple[ScanCode | None, ScanCode]:
        """Tokens are checked in memory; a typed short code (staff only) is looked up. A
        grading of a drop-off has the point's code only."""
        read = self.scans.codes.read
        household = None
        if grading.household_token is not None:
            household = await read(grading.household_token, CodeKind.HOUSEHOLD, self.actor)
        return household, await read(grading.point_token, CodeKind.POINT, self.actor)

    async def _scanned(
        self, fresh: list[int], codes: dict[int, tuple[ScanCode | None, ScanCode]]
    ) -> list[_Scanned]:
        """The rows the codes (or drop-offs) name, checked as `Scans._scanned` checks them, in
        its order."""
        cards = [c[0].subject_id for c in codes.values() if c[0] is not None]
        households = await store.scanned("household", cards)
        points = await store.scanned("collection_point", [c[1].subject_id for c in codes.values()])
        own = await self._own_household()
        graded = []
        for index in fresh:
            if index not in codes:
                continue
            dropoff = None
            try:
                household_code, point_code = codes[index]
                if household_code is not None:
                    household_row = households.get(household_code.subject_id)
                    household = current_row(household_code, household_row)
                    point = current_row(point_code, points.get(point_code.subject_id))
                else:
                    point = current_row(point_code, points.get(point_code.subject_id))
                    dropoff_id = self._checked(index).grading.dropoff_id
                    assert dropoff_id is not None, "check_subject: one of the two"
                    dropoff, household = await graded_dropoff(dropoff_id, point)
                check_compounds(self.actor, household, point)
                check_not_own_building(own, household)
            except LedgerError as refusal:
                self._refuse(index, refusal)
                continue
            graded.append(_Scanned(index, household, point, dropoff))
        return graded

    async def _own_household(self) -> dict[str, Any] | None:
        if self.actor.household_id is None:
            return None
        return await registry_store.get(Household, self.actor.household_id)

    async def _grade(self, scanned: list[_Scanned]) -> None:
        """Lock, read the days' grades, then decide and credit each grading in order."""
        graded = await self._timed(scanned)
        if not graded:
            return
        stripes = {g.index: await self._stripe(g.index, g.household) for g in graded}
        balances = await store.lock_balances([int(g.household["account"]) for g in graded])
        balances |= await store.lock_balances([s for s in stripes.values() if s is not None])
        state = {
            int(g.household["id"]): _Household(balances[int(g.household["account"])])
            for g in graded
        }
        for row in await store.grading_on(list(state), sorted({g.day for g in graded})):
            books = state[int(row["household"])]
            books.days.setdefault(row["local_day"], []).append(
                (row["stream"], bool(row["scored"]), int(row["points_awarded"]))
            )
        dropoff_ids = [int(g.dropoff["id"]) for g in graded if g.dropoff is not None]
        self.dropoff_streams = await store.dropoff_streams(dropoff_ids)
        entry_ids = iter(await store.next_ids("entry", len(graded)))
        inspection_ids = iter(await store.next_ids("inspection", len(graded)))
        for item in graded:
            try:
                self._credit(item, state, balances, stripes[item.index], entry_ids)
            except LedgerError as refusal:
                self._refuse(item.index, refusal)
                continue
            self._inspection(item, next(inspection_ids))

    async def _timed(self, scanned: list[_Scanned]) -> list[_Graded]:
        """The rules in force when each grading was captured, and the moment it counts at; a
        capture time beyond those rules' bounds, or a drop-off out of its 30 minutes, is
        refused, as `inspect` refuses it."""
        moments: dict[int, list[datetime]] = {}
        for item in scanned:
            moment = self._checked(item.index).captured_at or self.now
            moments.setdefault(int(item.household["community_id"]), []).append(moment)
        rules = {
            community: await rules_over(community, sorted(set(times)))
            for community, times in moments.items()
        }
        graded = []
        for item in scanned:
            index, household, point, dropoff = item.index, item.household, item.point, item.dropoff
            captured_at = self._checked(index).captured_at
            rule = rules[int(household["community_id"])][captured_at or self.now]
            try:
                moment = scan_moment(captured_at, self.now, self.actor.role, rule.rules)
                if dropoff is not None:
                    check_gradable(dropoff["created_at"], moment)
            except LedgerError as refusal:
                self._refuse(index, refusal)
                continue
            graded.append(_Graded(index, household, point, rule, moment, dropoff))
        return graded

    async def _stripe(self, index: int, household: dict[str, Any]) -> int | None:
        """The issuance stripe a credit of this event would come from (None: the community has
        no such account, which refuses the event only if it earns points, as in `inspect`)."""
        event_id = self._checked(index).grading.event_id
        try:
            return await ledger_store.community_account(
                int(household["community_id"]), AccountKind.ISSUANCE, issuance_stripe(event_id)
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
    ) -> None:
        index, household, rule = graded.index, graded.household, graded.rule
        item = self._checked(index)
        grading = item.grading
        books = state[int(household["id"])]
        streams = None
        if graded.dropoff is not None:
            streams = self.dropoff_streams.setdefault(int(graded.dropoff["id"]), set())
            check_not_graded(streams, grading.stream.value)
        today = books.days.setdefault(graded.day, [])
        already, points_today = day_so_far(today, grading.stream.value)
        award = award_for_grade(
            grading.grade,
            rule.rules,
            already_scored=already,
            points_today=points_today,
            kind=household["kind"],
        )
        community_id = int(household["community_id"])
        if award.points > 0 and stripe is None:
            raise NotFound("issuance account of community", community_id)
        today.append((grading.stream.value, award.scored, award.points))
        if streams is not None:
            streams.add(grading.stream.value)
        account = int(household["account"])
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
                    actor=self.actor.username,
                    memo=f"{grading.stream.value} {grading.grade.value}",
                    created_at=self.now,
                    captured_at=item.captured_at,
                )
            )
            self.lots.append((account, entry_id, award.points, lot_expiry(self.now), self.now))
            earned = {"account": account, "delta": award.points}
            self._fact(community_id, "earned", earned, graded.day)
        self.outcomes[index] = {
            "inspection_id": None,  # filled by _inspection
            "entry_id": entry_id,
            "points_awarded": award.points,
            "balance_points": books.balance,
            "scored": award.scored,
            "capped": award.capped,
            "message": award.explanation(),
        }

    def _inspection(self, graded: _Graded, inspection_id: int) -> None:
        index, household, point = graded.index, graded.household, graded.point
        item = self._checked(index)
        result = self.outcomes[index]
        assert isinstance(result, dict), "decided by _credit"
        result["inspection_id"] = inspection_id
        community_id = int(household["community_id"])
        self.inspections.append(
            store.NewInspection(
                inspection_id=inspection_id,
                community_id=community_id,
                compound=household["compound"],
                household=household["id"],
                point=point["id"],
                inspector=self.actor.user_id,
                stream=item.grading.stream.value,
                grade=item.grading.grade.value,
                reasons=",".join(item.reasons),
                photo_ref=item.photo,
                local_day=graded.day,
                scored=bool(result["scored"]),
                points_awarded=int(result["points_awarded"]),
                entry_id=result["entry_id"],
                rule_version=graded.rule.version,
                created_at=self.now,
                dropoff_id=None if graded.dropoff is None else int(graded.dropoff["id"]),
            )
        )
        good = int(item.grading.grade is Grade.GOOD)
        grade_fact = {"compound": household["compound"], "graded": 1, "good": good}
        self._fact(community_id, "grade", grade_fact, graded.day)
        self._fact(community_id, "participation", participation(household), graded.day)
        self._claim(index, idempotency.OUTCOME_OK, result)

    def _fact(self, community_id: int, kind: str, payload: dict[str, int], day: date) -> None:
        self.facts.append((community_id, kind, json.dumps(payload, sort_keys=True), day, self.now))

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
            )
        )

    async def _write(self) -> None:
        """One statement per table, all riding on the claims' INSERT; then the repeats."""
        await store.move_points(self.deltas)
        await store.append_entries(self.entries)
        await open_many(self.lots)
        await store.record_facts(self.facts)
        await store.append_inspections(self.inspections)
        stored = await idempotency.claim_many(
            self.claims, now=self.now, actor=self.actor.username, role=self.actor.role.value
        )
        if len(stored) != len(self.claims):
            raise _Race("another request stored one of these event ids first")
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
                raise _Race("an event id sent again, changed, after a refusal not stored")
            else:
                self.outcomes[index] = IdempotencyConflict(
                    "this event_id was already used for a different request",
                    operation=OPERATION,
                )

    def _checked(self, index: int) -> _Checked:
        item = self.checked[index]
        assert isinstance(item, _Checked), "only checked gradings get this far"
        return item


@dataclass(frozen=True, slots=True)
class _Repeat:
    first: int


def _replayed(prior: idempotency.StoredOutcome, key: str) -> Outcome:
    try:
        return replay(prior, key)
    except LedgerError as refusal:
        return refusal
