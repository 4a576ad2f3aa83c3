"""Earning at a collection point: inspections, drop-offs and weigh-ins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.domain.access import Principal, acting_household, helper_label, labelled
from ledger.domain.capture import captured_input, check_captured_at, scan_moment
from ledger.domain.dropoffs import check_gradable, check_not_graded
from ledger.domain.earning import award_for_grade, award_for_weighin
from ledger.domain.entries import EntryKind
from ledger.domain.errors import Forbidden, InvalidInput, NotFound, OutOfScope, OutsideWindow
from ledger.domain.localtime import local_day, minute_of_day
from ledger.domain.photos import check_ref, is_photo_ref
from ledger.domain.registry import Window, parse_windows
from ledger.domain.rules import Grade, Material, Stream
from ledger.domain.scan_codes import CodeKind
from ledger.ports import Clock
from ledger.services.codes import Codes
from ledger.services.credits import credit_from_issuance
from ledger.services.dropoff_queue import check_subject, graded_dropoff
from ledger.services.rules import RuleSet, rules_at
from ledger.services.runner import Result, Runner
from ledger.store import dropoffs as dropoff_store
from ledger.store import earning as store
from ledger.store import facts
from ledger.store import ledger as ledger_store
from ledger.store import photos as photo_store
from ledger.store import registry as registry_store
from ledger.store.tables import Dropoff, Household, Weighin

REASONS_MAX = 10
REASON_CODE_LENGTH_MAX = 32
PHOTO_REF_LENGTH_MAX = 200
WHOLE_DAY = Window(0, 24 * 60)


@dataclass(frozen=True)
class Scans:
    clock: Clock
    runner: Runner
    codes: Codes

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
        check_subject(household_token, dropoff_id)
        reasons = check_reasons(reasons)
        photo = await check_photo_ref(actor, photo_ref)
        captured_at = check_captured_at(captured_at)
        inputs = inspection_inputs(
            household_token, point_token, stream, grade, reasons, photo, captured_at, dropoff_id
        )

        async def action() -> Result:
            household, point, dropoff = await self._scanned(
                actor, household_token, point_token, dropoff_id
            )
            at = ScanTime(self.clock.now(), captured_at)
            graded = Graded(household, point, dropoff)
            return await _grade(actor, event_id, graded, stream, grade, reasons, photo, at)

        return await self.runner.once("inspection", event_id, actor, inputs, action)

    async def _scanned(
        self,
        actor: Principal,
        household_token: str | None,
        point_token: str,
        dropoff_id: int | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        dropoff = None
        if household_token is not None:
            _, household = await self.codes.resolve(household_token, CodeKind.HOUSEHOLD, actor)
            _, point = await self.codes.resolve(point_token, CodeKind.POINT, actor)
        else:
            assert dropoff_id is not None, "check_subject: one of the two"
            _, point = await self.codes.resolve(point_token, CodeKind.POINT, actor)
            dropoff, household = await graded_dropoff(dropoff_id, point)
        check_compounds(actor, household, point)
        await _not_own_building(actor, household)
        return household, point, dropoff

    async def dropoff(
        self,
        actor: Principal,
        event_id: str,
        point_token: str,
        captured_at: datetime | None = None,
        household_id: int | None = None,
    ) -> Result:
        """A resident's scan at a point inside its windows: once per window and day. A helper
        of several households names the one they act for (`household_id`)."""
        if not actor.households():
            raise Forbidden("only a member of a household can record a drop-off")
        household_id = acting_household(actor, household_id)
        captured_at = check_captured_at(captured_at)

        async def action() -> Result:
            _, point = await self.codes.resolve(point_token, CodeKind.POINT, actor)
            household = await registry_store.scanned(Household, household_id)
            if household is None:
                raise NotFound("household", household_id)
            if point["community_id"] != household["community_id"]:
                raise OutOfScope("this collection point belongs to another community")
            at = ScanTime(self.clock.now(), captured_at)
            return await _drop(actor, event_id, household, point, at)

        inputs = {"point_token": point_token} | captured_input(captured_at)
        if household_id in actor.helping or len(actor.households()) > 1:
            inputs |= {"household_id": household_id, "by": helper_label(actor, household_id)}
        return await self.runner.once("dropoff", event_id, actor, inputs, action)

    async def weighin(
        self,
        actor: Principal,
        event_id: str,
        household_token: str,
        material: Material,
        grams: int,
        captured_at: datetime | None = None,
    ) -> Result:
        """Recyclables weighed by a clerk: points per kg by material, rounded down, up to the
        household's daily weigh-in cap. Never for the clerk's own building."""
        captured_at = check_captured_at(captured_at)
        inputs = {
            "household_token": household_token,
            "material": material.value,
            "grams": grams,
        } | captured_input(captured_at)

        async def action() -> Result:
            _, household = await self.codes.resolve(household_token, CodeKind.HOUSEHOLD, actor)
            if not actor.covers_compound(household["compound"]):
                raise OutOfScope("this compound is not one you serve")
            await _not_own_building(actor, household)
            at = ScanTime(self.clock.now(), captured_at)
            return await _weigh(actor, event_id, household, material, grams, at)

        return await self.runner.once("weighin", event_id, actor, inputs, action)


@dataclass(frozen=True, slots=True)
class Graded:
    """What a grading is for: the household, the point, and the drop-off it names, if any."""

    household: dict[str, Any]
    point: dict[str, Any]
    dropoff: dict[str, Any] | None = None


async def _grade(
    actor: Principal,
    event_id: str,
    graded: Graded,
    stream: Stream,
    grade: Grade,
    reasons: list[str],
    photo: str,
    at: ScanTime,
) -> Result:
    household, point, dropoff = graded.household, graded.point, graded.dropoff
    community_id = int(household["community_id"])
    rule, moment = await at.rules(community_id, actor)
    if dropoff is not None:
        check_gradable(dropoff["created_at"], moment)
    day, now = local_day(moment), at.now
    await store.lock_account(household["account"])
    if dropoff is not None:
        check_not_graded(await dropoff_store.graded_streams(dropoff["id"]), stream.value)
    already, points_today = await store.grading_today(household["id"], day, stream.value)
    award = award_for_grade(
        grade,
        rule.rules,
        already_scored=already,
        points_today=points_today,
        kind=household["kind"],
    )
    entry_id, balance = await _credit(
        community_id,
        household["account"],
        award.points,
        EntryKind.INSPECTION,
        event_id,
        actor,
        at,
        f"{stream.value} {grade.value}",
        rule.version,
    )
    inspection_id = await store.insert_inspection(
        community_id=community_id,
        compound=household["compound"],
        household=household["id"],
        point=point["id"],
        inspector=actor.user_id,
        stream=stream.value,
        grade=grade.value,
        reasons=",".join(reasons),
        photo_ref=photo,
        local_day=day,
        scored=award.scored,
        points_awarded=award.points,
        entry_id=entry_id,
        rule_version=rule.version,
        created_at=now,
        dropoff_id=None if dropoff is None else dropoff["id"],
    )
    good = int(grade is Grade.GOOD)
    compound = household["compound"]
    await facts.record_many(
        community_id,
        [
            ("grade", {"compound": compound, "graded": 1, "good": good}),
            ("participation", participation(household)),
        ],
        day,
        now,
    )
    return {
        "inspection_id": inspection_id,
        "entry_id": entry_id,
        "points_awarded": award.points,
        "balance_points": balance,
        "scored": award.scored,
        "capped": award.capped,
        "message": award.explanation(),
    }


async def _drop(
    actor: Principal, event_id: str, household: dict[str, Any], point: dict[str, Any], at: ScanTime
) -> Result:
    community_id = int(household["community_id"])
    rule, moment = await at.rules(community_id, actor)
    window = _open_window(point["windows"], moment)
    day, now = local_day(moment), at.now
    existing = (
        await Dropoff.select(Dropoff.id)
        .where(
            Dropoff.household == household["id"],
            Dropoff.local_day == day,
            Dropoff.window_start_minute == window.start_minute,
        )
        .first()
    )
    if existing is not None:
        balance = await _balance(household["account"])
        return {
            "dropoff_id": existing["id"],
            "points_awarded": 0,
            "balance_points": balance,
            "repeat": True,
        }
    entry_id, balance = await _credit(
        community_id,
        household["account"],
        rule.rules.dropoff_points,
        EntryKind.DROPOFF,
        event_id,
        actor,
        at,
        labelled(f"drop-off {window}", actor, int(household["id"])),
        rule.version,
    )
    dropoff_id = await registry_store.insert(
        Dropoff,
        community_id=community_id,
        compound=household["compound"],
        household=household["id"],
        point=point["id"],
        resident=actor.user_id,
        local_day=day,
        window_start_minute=window.start_minute,
        points_awarded=rule.rules.dropoff_points,
        entry_id=entry_id,
        rule_version=rule.version,
        created_at=now,
    )
    await _participated(community_id, household, day, now)
    return {
        "dropoff_id": dropoff_id,
        "points_awarded": rule.rules.dropoff_points,
        "balance_points": balance,
        "repeat": False,
    }


async def _weigh(
    actor: Principal,
    event_id: str,
    household: dict[str, Any],
    material: Material,
    grams: int,
    at: ScanTime,
) -> Result:
    community_id = int(household["community_id"])
    rule, moment = await at.rules(community_id, actor)
    await store.lock_account(household["account"])  # the cap: read and credit one at a time
    points_today = await store.weighin_points_on(household["id"], local_day(moment))
    award = award_for_weighin(material, grams, rule.rules, points_today=points_today)
    entry_id, balance = await _credit(
        community_id,
        household["account"],
        award.points,
        EntryKind.WEIGHIN,
        event_id,
        actor,
        at,
        f"{material.value} {grams} g",
        rule.version,
    )
    weighin_id = await registry_store.insert(
        Weighin,
        community_id=community_id,
        compound=household["compound"],
        household=household["id"],
        clerk=actor.user_id,
        material=material.value,
        grams=grams,
        points_awarded=award.points,
        entry_id=entry_id,
        rule_version=rule.version,
        # When it was weighed (the daily cap counts by it); the server's time is on the entry.
        created_at=moment,
    )
    return {
        "weighin_id": weighin_id,
        "entry_id": entry_id,
        "points_awarded": award.points,
        "balance_points": balance,
        "capped": award.capped,
        "message": award.explanation(),
    }


async def _participated(
    community_id: int, household: dict[str, Any], day: date, now: datetime
) -> None:
    await facts.record(community_id, "participation", participation(household), day, now)


def inspection_inputs(
    household_token: str | None,
    point_token: str,
    stream: Stream,
    grade: Grade,
    reasons: list[str],
    photo: str,
    captured_at: datetime | None = None,
    dropoff_id: int | None = None,
) -> dict[str, object]:
    """What a grading's fingerprint covers: a resend must match it exactly, alone or in a batch.
    A card's grading keeps the fingerprint it had before drop-offs could be graded."""
    subject: dict[str, object] = (
        {"household_token": household_token} if dropoff_id is None else {"dropoff_id": dropoff_id}
    )
    return (
        subject
        | {
            "point_token": point_token,
            "stream": stream.value,
            "grade": grade.value,
            "reasons": reasons,
            "photo_ref": photo,
        }
        | captured_input(captured_at)
    )


@dataclass(frozen=True, slots=True)
class ScanTime:
    """The server's time of a scan and the capture time its device sent, if any."""

    now: datetime
    captured_at: datetime | None

    async def rules(self, community_id: int, actor: Principal) -> tuple[RuleSet, datetime]:
        """The rules in force when the scan was captured, and the moment it counts at (422
        `captured_at_out_of_range` beyond those rules' bounds for the actor's role)."""
        rule = await rules_at(community_id, self.captured_at or self.now)
        return rule, scan_moment(self.captured_at, self.now, actor.role, rule.rules)


def check_compounds(actor: Principal, household: dict[str, Any], point: dict[str, Any]) -> None:
    for compound_id in (household["compound"], point["compound"]):
        if not actor.covers_compound(compound_id):
            raise OutOfScope("this compound is not one you are assigned to")


async def _not_own_building(actor: Principal, household: dict[str, Any]) -> None:
    if actor.household_id is not None:
        own = await registry_store.get(Household, actor.household_id)
        check_not_own_building(own, household)


def check_not_own_building(own: dict[str, Any] | None, household: dict[str, Any]) -> None:
    """`own`: the staff member's own household, if any. Nobody grades or weighs for their own
    building (their own home and their neighbours')."""
    if own is not None and (own["compound"], own["building"]) == (
        household["compound"],
        household["building"],
    ):
        raise OutOfScope("staff never grade or weigh for their own building")


def participation(household: dict[str, Any]) -> dict[str, int]:
    return {"compound": household["compound"], "household": household["id"]}


async def _credit(
    community_id: int,
    account_id: int,
    points: int,
    kind: EntryKind,
    event_id: str,
    actor: Principal,
    at: ScanTime,
    memo: str,
    rule_version: int,
) -> tuple[int | None, int]:
    """Credit if there is anything to credit; returns the entry id and the balance after."""
    if points <= 0:
        return None, await _balance(account_id)
    posted = await credit_from_issuance(
        community_id=community_id,
        account_id=account_id,
        amount_points=points,
        kind=kind,
        event_id=event_id,
        actor=actor.username,
        now=at.now,
        memo=memo,
        rule_version=rule_version,
        captured_at=at.captured_at,
    )
    return posted.entry_id, posted.credit_balance_after


async def _balance(account_id: int) -> int:
    account = await ledger_store.find_account(account_id)
    assert account is not None, "a household's account exists (foreign key)"
    return account.balance_points


def _open_window(window_text: str, now: datetime) -> Window:
    windows = parse_windows([text for text in window_text.split(",") if text]) or (WHOLE_DAY,)
    minute = minute_of_day(now)
    for window in windows:
        if window.contains(minute):
            return window
    listed = ", ".join(str(window) for window in windows)
    raise OutsideWindow(f"this point takes drop-offs {listed} (Beijing time)", windows=listed)


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
