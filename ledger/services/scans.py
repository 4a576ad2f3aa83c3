"""Earning at a collection point: drop-offs and weigh-ins (gradings: services/grading.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.access import Principal, acting_household, helper_label, labelled
from ledger.domain.capture import captured_input, check_captured_at, scan_moment
from ledger.domain.earning import award_for_weighin
from ledger.domain.entries import EntryKind
from ledger.domain.errors import Forbidden, NotFound, OutOfScope, OutsideWindow
from ledger.domain.localtime import local_day, minute_of_day
from ledger.domain.registry import Window, parse_windows
from ledger.domain.rules import Material
from ledger.ports import Clock
from ledger.services.codes import Codes
from ledger.services.credits import credit_from_issuance
from ledger.services.rules import RuleSet, rules_at
from ledger.services.runner import Runner
from ledger.store import earning as store
from ledger.store import ledger as ledger_store
from ledger.store import locks
from ledger.store.earning import Home, NewDropoff, NewWeighin, ScannedHousehold, ScannedPoint

WHOLE_DAY = Window(0, 24 * 60)


@dataclass(frozen=True, slots=True)
class DropoffRecorded:
    """A drop-off's outcome (`repeat`: one was already recorded in this window today)."""

    dropoff_id: int
    points_awarded: int
    balance_points: int
    repeat: bool


@dataclass(frozen=True, slots=True)
class WeighinRecorded:
    weighin_id: int
    entry_id: int | None
    points_awarded: int
    balance_points: int
    # Defaults: an outcome stored before the daily cap (without these keys) replays as it was.
    capped: bool = False  # the household's daily weigh-in cap cut the points
    message: str = "credited"


@dataclass(frozen=True)
class Scans:
    clock: Clock
    runner: Runner
    codes: Codes

    async def dropoff(
        self,
        actor: Principal,
        event_id: str,
        point_token: str,
        captured_at: datetime | None = None,
        household_id: int | None = None,
    ) -> DropoffRecorded:
        """A resident's scan at a point inside its windows: once per window and day. A helper
        of several households names the one they act for (`household_id`)."""
        if not actor.households():
            raise Forbidden("only a member of a household can record a drop-off")
        household_id = acting_household(actor, household_id)
        captured_at = check_captured_at(captured_at)

        async def action() -> DropoffRecorded:
            point = await self.codes.point(point_token, actor)
            household = await store.scanned_household(household_id)
            if household is None:
                raise NotFound("household", household_id)
            if point.community_id != household.community_id:
                raise OutOfScope("this collection point belongs to another community")
            at = ScanTime(self.clock.now(), captured_at)
            return await _drop(actor, event_id, household, point, at)

        inputs = {"point_token": point_token} | captured_input(captured_at)
        if household_id in actor.helping or len(actor.households()) > 1:
            inputs |= {"household_id": household_id, "by": helper_label(actor, household_id)}
        return await self.runner.once("dropoff", event_id, actor, inputs, action, DropoffRecorded)

    async def weighin(
        self,
        actor: Principal,
        event_id: str,
        household_token: str,
        material: Material,
        grams: int,
        captured_at: datetime | None = None,
    ) -> WeighinRecorded:
        """Recyclables weighed by a clerk: points per kg by material, rounded down, up to the
        household's daily weigh-in cap. Never for the clerk's own building."""
        captured_at = check_captured_at(captured_at)
        inputs = {
            "household_token": household_token,
            "material": material.value,
            "grams": grams,
        } | captured_input(captured_at)

        async def action() -> WeighinRecorded:
            household = await self.codes.household(household_token, actor)
            if not actor.covers_compound(household.compound):
                raise OutOfScope("this compound is not one you serve")
            await _not_own_building(actor, household)
            at = ScanTime(self.clock.now(), captured_at)
            return await _weigh(actor, event_id, household, material, grams, at)

        return await self.runner.once("weighin", event_id, actor, inputs, action, WeighinRecorded)


async def _drop(
    actor: Principal, event_id: str, household: ScannedHousehold, point: ScannedPoint, at: ScanTime
) -> DropoffRecorded:
    community_id = household.community_id
    rule, moment = await at.rules(community_id, actor)
    window = _open_window(point.windows, moment)
    day = local_day(moment)
    existing = await store.dropoff_in_window(household.id, day, window.start_minute)
    if existing is not None:
        return DropoffRecorded(existing, 0, await _balance(household.account), repeat=True)
    points = rule.rules.dropoff_points
    memo = labelled(f"drop-off {window}", actor, household.id)
    credit = _Credit(community_id, household.account, EntryKind.DROPOFF, memo, rule.version)
    entry_id, balance = await _credit(credit, points, event_id, actor, at)
    dropoff_id = await store.record_dropoff(
        NewDropoff(
            community_id=community_id,
            compound=household.compound,
            household=household.id,
            point=point.id,
            resident=actor.user_id,
            local_day=day,
            window_start_minute=window.start_minute,
            points_awarded=points,
            entry_id=entry_id,
            rule_version=rule.version,
            created_at=at.now,
        )
    )
    return DropoffRecorded(dropoff_id, points, balance, repeat=False)


async def _weigh(
    actor: Principal,
    event_id: str,
    household: ScannedHousehold,
    material: Material,
    grams: int,
    at: ScanTime,
) -> WeighinRecorded:
    community_id = household.community_id
    rule, moment = await at.rules(community_id, actor)
    await locks.lock_account(household.account)  # the cap: read and credit one at a time
    points_today = await store.weighin_points_on(household.id, local_day(moment))
    award = award_for_weighin(material, grams, rule.rules, points_today=points_today)
    memo = f"{material.value} {grams} g"
    credit = _Credit(community_id, household.account, EntryKind.WEIGHIN, memo, rule.version)
    entry_id, balance = await _credit(credit, award.points, event_id, actor, at)
    weighin_id = await store.record_weighin(
        NewWeighin(
            community_id=community_id,
            compound=household.compound,
            household=household.id,
            clerk=actor.user_id,
            material=material.value,
            grams=grams,
            points_awarded=award.points,
            entry_id=entry_id,
            rule_version=rule.version,
            # When it was weighed (the daily cap counts by it); the server's time is on the entry.
            created_at=moment,
        )
    )
    return WeighinRecorded(
        weighin_id=weighin_id,
        entry_id=entry_id,
        points_awarded=award.points,
        balance_points=balance,
        capped=award.capped,
        message=award.explanation(),
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


async def _not_own_building(actor: Principal, household: ScannedHousehold) -> None:
    if actor.household_id is not None:
        own = await store.home(actor.household_id)
        check_not_own_building(own, household.compound, household.building)


def check_not_own_building(own: Home | None, compound: int, building: str) -> None:
    """`own`: the staff member's own home, if any. Nobody grades or weighs for their own
    building (their own home and their neighbours')."""
    if own is not None and (own.compound, own.building) == (compound, building):
        raise OutOfScope("staff never grade or weigh for their own building")


@dataclass(frozen=True, slots=True)
class _Credit:
    """Where a scan's points go, and what the entry says."""

    community_id: int
    account_id: int
    kind: EntryKind
    memo: str
    rule_version: int


async def _credit(
    credit: _Credit, points: int, event_id: str, actor: Principal, at: ScanTime
) -> tuple[int | None, int]:
    """Credit if there is anything to credit; returns the entry id and the balance after."""
    if points <= 0:
        return None, await _balance(credit.account_id)
    posted = await credit_from_issuance(
        community_id=credit.community_id,
        account_id=credit.account_id,
        amount_points=points,
        kind=credit.kind,
        event_id=event_id,
        actor=actor.username,
        now=at.now,
        memo=credit.memo,
        rule_version=credit.rule_version,
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
