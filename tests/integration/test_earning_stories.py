"""Worked examples of earning, told as stories through the service layer.

The clock is frozen and moved by hand; every time below is Hangzhou wall-clock time.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import (
    AlreadyDecided,
    AppealClosed,
    Forbidden,
    RuleNotAllowed,
)
from ledger.domain.rules import Grade, Material, Stream
from ledger.services.appeals import AppealDecided
from ledger.services.container import Services
from ledger.services.scans import DropoffRecorded
from ledger.services.shifts import ShiftClosed
from ledger.store.tables import Appeal, Inspection
from tests.factories import FrozenClock, event_id, make_household, make_user
from tests.integration.earning_helpers import (
    Site,
    balance,
    dropoffs,
    entries,
    grade,
    hangzhou,
    inspections,
    make_post,
    make_site,
    make_volunteer,
    shifts,
)

KITCHEN, RECYCLABLE, HAZARDOUS, OTHER = Stream
GOOD, FAIR, POOR = Grade


class Diary:
    """Checks an account day by day: the balance, and exactly which entries the day added."""

    def __init__(self, services: Services, account_id: int) -> None:
        self.services = services
        self.account_id = account_id
        self.seen = 0

    async def day_ends(self, balance_points: int, amounts: list[int], kind: str = "") -> None:
        assert await balance(self.services, self.account_id) == balance_points
        found = await entries(self.services, self.account_id)
        new = found[self.seen :]
        self.seen = len(found)
        assert [entry["amount_points"] for entry in new] == amounts
        assert all(entry["direction"] == "credit" for entry in new)
        if kind:
            assert {entry["kind"] for entry in new} <= {kind, "inspection", "weighin"}
        if found:
            assert found[-1]["balance_after_points"] == balance_points


async def drop(services: Services, site: Site, point: str | None = None) -> DropoffRecorded:
    return await services.scans.dropoff(site.resident, event_id("drop"), point or site.point.token)


# --- a household's week ----------------------------------------------------------------------


async def test_a_households_week(services: Services, clock: FrozenClock) -> None:
    clock.moment = hangzhou(22, 20)
    site = await make_site(services)
    household = site.world
    diary = Diary(services, household.account_id)

    # Monday: a drop-off each morning; two streams graded at two points; back in the evening.
    clock.moment = hangzhou(23, 7, 5)
    monday = await drop(services, site)
    assert (monday.points_awarded, monday.balance_points, monday.repeat) == (0, 0, False)
    clock.moment = hangzhou(23, 7, 20)
    kitchen = await grade(services, site, KITCHEN, GOOD)
    assert (kitchen.points_awarded, kitchen.balance_points) == (10, 10)
    assert kitchen.entry_id is not None
    assert (kitchen.scored, kitchen.capped) == (True, False)
    clock.moment = hangzhou(23, 7, 25)
    other = await grade(services, site, OTHER, FAIR, point_token=site.point2.token)
    assert (other.points_awarded, other.balance_points) == (5, 15)
    clock.moment = hangzhou(23, 18, 30)
    evening = await drop(services, site)
    assert evening.repeat is False
    assert evening.dropoff_id != monday.dropoff_id
    await diary.day_ends(15, [10, 5])

    # Tuesday: three good streams reach the cap of 30 exactly; the fourth earns 0 and says so;
    # a second grade of the kitchen stream is recorded for accuracy and earns 0.
    clock.moment = hangzhou(24, 7, 10)
    await drop(services, site)
    results = []
    for minute, (stream, point) in enumerate(
        [
            (KITCHEN, site.point),
            (RECYCLABLE, site.point2),
            (HAZARDOUS, site.point),
            (OTHER, site.point2),
            (KITCHEN, site.point2),
        ],
        start=15,
    ):
        clock.moment = hangzhou(24, 7, minute)
        results.append(await grade(services, site, stream, GOOD, point_token=point.token))
    assert [r.points_awarded for r in results] == [10, 10, 10, 0, 0]
    assert [r.balance_points for r in results] == [25, 35, 45, 45, 45]
    assert [r.scored for r in results] == [True, True, True, True, False]
    assert [r.capped for r in results] == [False, False, False, True, False]
    assert "cap" in results[3].message
    assert "earns 0" in results[4].message
    assert [r.entry_id is None for r in results] == [False, False, False, True, True]
    await diary.day_ends(45, [10, 10, 10])

    # Wednesday: a weigh-in (not part of the grading cap) and a poor grade, which earns nothing
    # and still takes the stream's one scoring grade of the day.
    clock.moment = hangzhou(25, 8, 0)
    await drop(services, site)
    clock.moment = hangzhou(25, 8, 10)
    paper = await services.scans.weighin(
        site.clerk, event_id(), household.card_token, Material.PAPER, 2300
    )
    assert (paper.points_awarded, paper.balance_points) == (230, 275)
    clock.moment = hangzhou(25, 8, 20)
    poor = await grade(services, site, KITCHEN, POOR)
    assert (poor.points_awarded, poor.entry_id, poor.scored) == (0, None, True)
    regrade = await grade(services, site, KITCHEN, GOOD, point_token=site.point2.token)
    assert (regrade.points_awarded, regrade.scored) == (0, False)
    await diary.day_ends(275, [230])

    # Thursday: the morning window opens at 07:00 and a second scan before 09:00 is a repeat;
    # glass and textile are weighed and round down.
    clock.moment = hangzhou(26, 7, 0)
    first = await drop(services, site)
    clock.moment = hangzhou(26, 8, 59)
    again = await drop(services, site, site.point2.token)
    assert again == DropoffRecorded(first.dropoff_id, 0, 275, repeat=True)
    glass = await services.scans.weighin(
        site.clerk, event_id(), household.card_token, Material.GLASS, 1999
    )
    textile = await services.scans.weighin(
        site.clerk, event_id(), household.card_token, Material.TEXTILE, 950
    )
    assert (glass.points_awarded, textile.points_awarded) == (9, 9)
    fair = await grade(services, site, KITCHEN, FAIR)
    assert fair.balance_points == 298
    await diary.day_ends(298, [9, 9, 5])

    # Friday and Saturday nothing happens; Sunday evening, one last drop-off and grade at 19:59.
    clock.moment = hangzhou(29, 19, 59)
    await drop(services, site)
    sunday = await grade(services, site, KITCHEN, GOOD)
    assert sunday.points_awarded == 10
    await diary.day_ends(308, [10])

    graded = await inspections(household.household_id)
    assert len(graded) == 2 + 5 + 2 + 1 + 1
    assert sum(int(row["points_awarded"]) for row in graded) == 10 + 5 + 30 + 0 + 5 + 10
    assert all(row["rule_version"] == 1 for row in graded)  # the defaults
    days = [row["local_day"].isoformat() for row in await dropoffs(household.household_id)]
    assert days == [
        "2026-11-23",
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
        "2026-11-29",
    ]
    history = await entries(services, household.account_id)
    assert sum(entry["amount_points"] for entry in history) == 308
    assert {entry["kind"] for entry in history} == {"inspection", "weighin"}
    assert (await services.verifier.verify()).ok


# --- a volunteer's month ---------------------------------------------------------------------


async def test_a_volunteers_month(services: Services, clock: FrozenClock) -> None:
    clock.moment = hangzhou(1, 20)
    site = await make_site(services)
    volunteer = await make_volunteer(services, site)
    east, west = (
        await make_post(services, site, "东门岗"),
        await make_post(services, site, "西门岗"),
    )
    me = volunteer.member

    async def shift(start: datetime, end: datetime, post: str) -> ShiftClosed:
        clock.moment = start
        opened = await services.shifts.check_in(me, event_id(), post)
        assert opened.started_at == start.isoformat()
        clock.moment = end
        closed = await services.shifts.check_out(me, event_id(), post)
        assert closed.shift_id == opened.shift_id
        return closed

    # 2 November: 14 minutes 59 seconds earn nothing; 1 h 44 min counts as 90 minutes.
    short = await shift(hangzhou(2, 9), hangzhou(2, 9, 14, 59), east)
    assert (short.minutes, short.status) == (0, "declined")
    first = await shift(hangzhou(2, 10), hangzhou(2, 11, 44), east)
    assert (first.minutes, first.status) == (90, "pending")

    # 3 November: 5 h, then 4 h 30 min of which only 3 h fit under the 8 hours of a day.
    long = await shift(hangzhou(3, 8), hangzhou(3, 13), west)
    rest = await shift(hangzhou(3, 14), hangzhou(3, 18, 30), west)
    assert (long.minutes, rest.minutes) == (300, 180)

    # 4 November: one shift of 9 h 30 min counts 8 h.
    marathon = await shift(hangzhou(4, 7), hangzhou(4, 16, 30), east)
    assert marathon.minutes == 480

    # 5 November: a shift left open; checking in 13 hours later closes and flags it.
    clock.moment = hangzhou(5, 8)
    forgotten = await services.shifts.check_in(me, event_id(), east)
    evening = await shift(hangzhou(5, 21), hangzhou(5, 21, 30), west)
    assert evening.minutes == 30

    # 6 November: left open again; the sweeper closes it once 12 hours have passed.
    clock.moment = hangzhou(6, 8)
    swept = await services.shifts.check_in(me, event_id(), east)
    clock.moment = hangzhou(6, 19, 59)
    assert await services.shifts.close_stale() == 0
    clock.moment = hangzhou(6, 20, 30)
    assert await services.shifts.close_stale() == 1
    assert await services.shifts.close_stale() == 0

    rows = {row["id"]: row for row in await shifts(volunteer.id)}
    for flagged in (forgotten.shift_id, swept.shift_id):
        row = rows[flagged]
        assert (row["status"], row["minutes"], row["flagged"]) == ("pending", 0, True)
        assert row["ended_at"] - row["started_at"] == timedelta(hours=12)
    assert not any(
        row["flagged"] for i, row in rows.items() if i not in (forgotten.shift_id, swept.shift_id)
    )

    # The coordinator approves the real shifts in bulk. Slipping in the declined short shift
    # refuses the whole batch; nothing is approved.
    coordinator = site.coordinator
    real = [first.shift_id, long.shift_id, rest.shift_id, marathon.shift_id]
    real.append(evening.shift_id)
    with pytest.raises(AlreadyDecided):
        await services.shifts.decide(coordinator, event_id(), [*real, short.shift_id], True)
    assert await balance(services, volunteer.account_id) == 0
    assert all(
        row["status"] == "pending" for row in await shifts(volunteer.id) if row["id"] in real
    )

    clock.moment = hangzhou(7, 9)
    approved = await services.shifts.decide(coordinator, event_id(), real, True)
    assert [r.points_awarded for r in approved.results] == [15, 50, 30, 80, 5]
    assert all(r.status == "approved" and r.entry_id for r in approved.results)
    assert await balance(services, volunteer.account_id) == 180
    declined = await services.shifts.decide(
        coordinator, event_id(), [forgotten.shift_id, swept.shift_id], False
    )
    assert [r.status for r in declined.results] == ["declined", "declined"]
    with pytest.raises(AlreadyDecided):
        await services.shifts.decide(coordinator, event_id(), [first.shift_id], True)

    # The coordinator back-fills the 6th's real hours: their own class, and no points by
    # default. Then a rule pays back-filled hours, and the next back-fill earns.
    filled = await services.shifts.backfill(
        coordinator,
        event_id(),
        volunteer_id=volunteer.id,
        compound_id=site.world.compound_id,
        day=hangzhou(6, 8).date(),
        minutes=240,
        note="paper sign-in sheet, 08:00-12:00",
    )
    assert (filled.minutes, filled.points_awarded, filled.entry_id) == (240, 0, None)
    clock.moment = hangzhou(20, 10)
    rule = await services.rules.set(
        SYSTEM, event_id(), site.world.community_id, clock.now(), {"backfill_points_per_hour": 6}
    )
    paid = await services.shifts.backfill(
        coordinator,
        event_id(),
        volunteer_id=volunteer.id,
        compound_id=site.world.compound_id,
        day=hangzhou(19, 9).date(),
        minutes=90,
        note="street clean-up",
    )
    assert (paid.points_awarded, paid.entry_id is not None) == (9, True)
    history = await entries(services, volunteer.account_id)
    assert [e["amount_points"] for e in history] == [15, 50, 30, 80, 5, 9]
    assert [e["rule_version"] for e in history] == [1, 1, 1, 1, 1, rule.version]
    assert rule.version == 2
    assert {e["kind"] for e in history} == {"shift"}

    hours = await services.shifts.hours(me, volunteer.id)
    assert dataclasses.asdict(hours) == {
        "volunteer_id": volunteer.id,
        "name": "朱秀娟",
        "approved_minutes": 90 + 300 + 180 + 480 + 30,
        "backfilled_minutes": 240 + 90,
        "pending_minutes": 0,
        "total_hours": (1080 + 330) // 60,
        "star_level": 0,
        "next_star_hours": 100,
    }
    assert await balance(services, volunteer.account_id) == 189
    assert (await services.verifier.verify()).ok


async def test_star_levels_count_back_filled_hours_at_the_boundaries(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    volunteer = await make_volunteer(services, site)
    # 99 h 59 min: twelve days of the 8 h daily maximum, and 239 minutes.
    for days_ago, minutes in [*((days_ago, 480) for days_ago in range(18, 6, -1)), (6, 239)]:
        day = (clock.now() - timedelta(days=days_ago)).date()
        await services.shifts.backfill(
            site.coordinator,
            event_id(),
            volunteer_id=volunteer.id,
            compound_id=site.world.compound_id,
            day=day,
            minutes=minutes,
            note="册",
        )
    hours = await services.shifts.hours(volunteer.member, volunteer.id)
    assert (hours.total_hours, hours.star_level, hours.next_star_hours) == (99, 0, 100)
    await services.shifts.backfill(
        site.coordinator,
        event_id(),
        volunteer_id=volunteer.id,
        compound_id=site.world.compound_id,
        day=(clock.now() - timedelta(days=5)).date(),
        minutes=1,
        note="册",
    )
    hours = await services.shifts.hours(volunteer.member, volunteer.id)
    assert (hours.total_hours, hours.star_level, hours.next_star_hours) == (100, 1, 300)
    other = await make_volunteer(services, site, "王建国")
    with pytest.raises(Forbidden):
        await services.shifts.hours(other.member, volunteer.id)


# --- appeals ---------------------------------------------------------------------------------


async def test_an_upheld_appeal_reverses_the_old_credit_and_credits_the_new_grade(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    household = site.world
    fair = await grade(services, site, KITCHEN, FAIR)
    poor = await grade(services, site, RECYCLABLE, POOR)
    assert await balance(services, household.account_id) == 5

    clock.advance(days=2)
    opened = await services.appeals.open(site.resident, event_id(), fair.inspection_id, "分得很好")
    assert opened.status == "open"
    with pytest.raises(AppealClosed):
        await services.appeals.open(site.resident, event_id(), fair.inspection_id, "再申诉一次")

    clock.advance(hours=3)
    decided = await services.appeals.decide(
        site.coordinator, event_id(), opened.appeal_id, True, GOOD
    )
    assert decided.status == "upheld"
    assert decided.decided_by == site.coordinator.username
    assert decided.decided_at == clock.now().isoformat()
    assert decided.points_awarded == 10
    assert await balance(services, household.account_id) == 10

    history = {entry["id"]: entry for entry in await entries(services, household.account_id)}
    credit, reversal = history[decided.credit_entry_id], history[decided.reversal_entry_id]
    assert (credit["amount_points"], credit["direction"], credit["kind"]) == (
        10,
        "credit",
        "inspection",
    )
    assert (reversal["amount_points"], reversal["direction"], reversal["kind"]) == (
        5,
        "debit",
        "reversal",
    )
    assert reversal["reverses_entry_id"] == fair.entry_id
    assert str(fair.inspection_id) in credit["memo"]
    assert str(fair.inspection_id) in reversal["memo"]

    appeal = await Appeal.select().where(Appeal.id == opened.appeal_id).first()
    assert appeal is not None
    assert appeal["decided_by"] == site.coordinator.user_id
    assert appeal["opened_by"] == site.resident.user_id
    assert (appeal["credit_entry_id"], appeal["reversal_entry_id"]) == (
        decided.credit_entry_id,
        decided.reversal_entry_id,
    )
    row = await Inspection.select().where(Inspection.id == fair.inspection_id).first()
    assert row is not None
    assert (row["grade"], row["final_grade"], row["points_awarded"]) == ("fair", "good", 10)

    with pytest.raises(AlreadyDecided):
        await services.appeals.decide(site.coordinator, event_id(), opened.appeal_id, False, None)

    # poor -> good: there was no credit to reverse; the new grade is credited.
    second = await services.appeals.open(site.resident, event_id(), poor.inspection_id, "错判")
    regraded = await services.appeals.decide(
        site.coordinator, event_id(), second.appeal_id, True, GOOD
    )
    assert (regraded.points_awarded, regraded.reversal_entry_id) == (10, None)
    assert regraded.credit_entry_id is not None
    assert await balance(services, household.account_id) == 20
    assert (await services.verifier.verify()).ok


async def test_appeals_are_refused_after_seven_days_twice_or_from_another_household(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    graded = await grade(services, site, KITCHEN, FAIR)
    late = await grade(services, site, OTHER, FAIR)

    neighbour_home = await make_household(services, site.world.compound_id, room="999")
    neighbour = await make_user(services, Role.RESIDENT, household_id=neighbour_home.id)
    with pytest.raises(Forbidden):
        await services.appeals.open(neighbour, event_id(), graded.inspection_id, "不是我家")

    clock.advance(days=7)  # exactly seven days: still in time
    opened = await services.appeals.open(site.resident, event_id(), graded.inspection_id, "ok")
    assert opened.status == "open"
    clock.advance(seconds=1)
    with pytest.raises(AppealClosed) as refused:
        await services.appeals.open(site.resident, event_id(), late.inspection_id, "太迟")
    assert "7 days" in refused.value.detail
    with pytest.raises(AppealClosed):
        await services.appeals.open(site.resident, event_id(), graded.inspection_id, "again")
    listed = await services.appeals.page(site.coordinator, "open", None, 50)
    assert [item["id"] for item in listed.items] == [opened.appeal_id]


async def test_a_rejected_appeal_moves_nothing_and_records_who_decided(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    graded = await grade(services, site, HAZARDOUS, FAIR)
    opened = await services.appeals.open(site.resident, event_id(), graded.inspection_id, "有异议")
    before = await entries(services, site.world.account_id)
    clock.advance(hours=1)
    decided = await services.appeals.decide(
        site.coordinator, event_id(), opened.appeal_id, False, None
    )
    assert decided == AppealDecided(
        opened.appeal_id, "rejected", site.coordinator.username, clock.now().isoformat()
    )
    assert await entries(services, site.world.account_id) == before
    assert await balance(services, site.world.account_id) == 5
    appeal = await Appeal.select().where(Appeal.id == opened.appeal_id).first()
    assert appeal is not None
    assert (appeal["status"], appeal["decided_by"]) == ("rejected", site.coordinator.user_id)
    assert appeal["decided_at"] == clock.now()
    row = await Inspection.select().where(Inspection.id == graded.inspection_id).first()
    assert row is not None
    assert row["final_grade"] == "fair"


async def test_an_upheld_appeal_stays_within_that_days_cap(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    for stream in (KITCHEN, RECYCLABLE, HAZARDOUS):
        await grade(services, site, stream, GOOD)
    poor = await grade(services, site, OTHER, POOR)
    assert await balance(services, site.world.account_id) == 30
    clock.advance(days=1)  # the next day's grades do not make room in the old day
    await grade(services, site, KITCHEN, GOOD)
    opened = await services.appeals.open(site.resident, event_id(), poor.inspection_id, "分对了")
    decided = await services.appeals.decide(
        site.coordinator, event_id(), opened.appeal_id, True, GOOD
    )
    assert (decided.points_awarded, decided.credit_entry_id) == (0, None)
    assert await balance(services, site.world.account_id) == 40


# --- rules change going forward --------------------------------------------------------------


async def test_a_rule_change_alters_future_points_only(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    community = site.world.community_id
    before = await grade(services, site, KITCHEN, GOOD)
    assert before.points_awarded == 10

    richer = {"grade_points": {"good": 20, "fair": 8, "poor": 0}, "grading_daily_cap_points": 60}
    set_now = await services.rules.set(SYSTEM, event_id(), community, clock.now(), richer)
    assert set_now.version == 2  # version 1: the defaults the community began with
    after = await grade(services, site, RECYCLABLE, GOOD)
    assert (after.points_awarded, after.balance_points) == (20, 30)
    poor = await grade(services, site, HAZARDOUS, POOR)

    # Tomorrow's rule, set today, waits for tomorrow.
    tomorrow = hangzhou(26, 0)
    leaner = {"grade_points": {"good": 1, "fair": 1, "poor": 0}}
    later = await services.rules.set(SYSTEM, event_id(), community, tomorrow, leaner)
    assert later.version == 3
    same_day = await grade(services, site, OTHER, FAIR)
    assert same_day.points_awarded == 8

    clock.moment = hangzhou(26, 8)
    next_day = await grade(services, site, KITCHEN, GOOD)
    assert next_day.points_awarded == 1

    # An appeal of yesterday's grade is scored by yesterday's rules.
    opened = await services.appeals.open(site.resident, event_id(), poor.inspection_id, "好的")
    upheld = await services.appeals.decide(
        site.coordinator, event_id(), opened.appeal_id, True, GOOD
    )
    assert upheld.points_awarded == 20

    history = await entries(services, site.world.account_id)
    assert [(e["amount_points"], e["rule_version"]) for e in history] == [
        (10, 1),
        (20, 2),
        (8, 2),
        (1, 3),
        (20, 2),
    ]
    versions = [row["rule_version"] for row in await inspections(site.world.household_id)]
    assert versions == [1, 2, 2, 2, 3]
    assert (await services.rules.current(community)).version == 3

    with pytest.raises(RuleNotAllowed):
        await services.rules.set(
            SYSTEM, event_id(), community, clock.now() - timedelta(days=1), richer
        )
    with pytest.raises(RuleNotAllowed):
        await services.rules.set(
            SYSTEM, event_id(), community, clock.now() - timedelta(minutes=2), richer
        )
    assert (await services.rules.current(community)).version == 3
