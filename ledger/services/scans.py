"""Earning at a collection point: drop-offs and weigh-ins (gradings: services/grading.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.domain.access import Principal, acting_household, helper_label, labelled
from ledger.domain.capture import captured_input, check_captured_at, scan_moment
from ledger.domain.earning import award_for_weighin
from ledger.domain.entries import EntryKind
from ledger.domain.errors import Forbidden, NotFound, OutOfScope, OutsideWindow
from ledger.domain.localtime import local_day, minute_of_day
from ledger.domain.registry import Window, parse_windows
from ledger.domain.rules import Material
from ledger.domain.scan_codes import CodeKind
from ledger.ports import Clock
from ledger.services.codes import Codes
from ledger.services.credits import credit_from_issuance
from ledger.services.rules import RuleSet, rules_at
from ledger.services.runner import Result, Runner
from ledger.store import earning as store
from ledger.store import facts, locks
from ledger.store import ledger as ledger_store
from ledger.store import registry as registry_store
from ledger.store.tables import Dropoff, Household, Weighin

WHOLE_DAY = Window(0, 24 * 60)


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
        return await self.runner.once("dropoff", event_id, actor, inputs, action, dict)

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

        return await self.runner.once("weighin", event_id, actor, inputs, action, dict)


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
    await locks.lock_account(household["account"])  # the cap: read and credit one at a time
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
