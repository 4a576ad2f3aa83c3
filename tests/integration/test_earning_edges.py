"""The edges of every cap and window, scope, and the codes that must be refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import (
    CodeForged,
    CodeMalformed,
    CodeRevoked,
    CodeWrongKind,
    Forbidden,
    IdempotencyConflict,
    InvalidInput,
    NoOpenShift,
    NotFound,
    OutOfScope,
    OutsideWindow,
    OwnRecord,
    ShiftOpen,
    TooManyMinutes,
)
from ledger.domain.rules import Grade, Material, Stream
from ledger.domain.scan_codes import CodeKind, Keyring, ScanCode, sign
from ledger.services.container import Services
from ledger.services.scans import DropoffRecorded, WeighinRecorded
from ledger.services.shifts import HoursBackfilled, ShiftClosed
from ledger.store.tables import Weighin
from tests.factories import FrozenClock, event_id, make_household, make_user, make_world
from tests.integration.earning_helpers import (
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


# --- the grading day ends at local midnight --------------------------------------------------


async def test_grades_at_2359_and_0000_count_against_different_days(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 20)
    site = await make_site(services)
    for second, stream in enumerate((KITCHEN, RECYCLABLE, HAZARDOUS), start=57):
        clock.moment = hangzhou(25, 23, 59, second)
        await grade(services, site, stream, GOOD)
    clock.moment = hangzhou(25, 23, 59, 59)
    capped = await grade(services, site, OTHER, GOOD)
    assert (capped.points_awarded, capped.capped) == (0, True)
    again = await grade(services, site, KITCHEN, GOOD)
    assert (again.points_awarded, again.scored) == (0, False)

    clock.moment = hangzhou(26, 0, 0, 0)
    kitchen = await grade(services, site, KITCHEN, GOOD)
    other = await grade(services, site, OTHER, GOOD)
    assert (kitchen.points_awarded, other.points_awarded) == (10, 10)
    assert (kitchen.scored, kitchen.capped) == (True, False)
    assert await balance(services, site.world.account_id) == 50
    days = [row["local_day"].isoformat() for row in await inspections(site.world.household_id)]
    assert days == ["2026-11-25"] * 5 + ["2026-11-26"] * 2


async def test_the_cap_is_per_household(services: Services, clock: FrozenClock) -> None:
    site = await make_site(services)
    for stream in Stream:
        await grade(services, site, stream, GOOD)
    neighbour = await make_household(services, site.world.compound_id, room="502")
    fresh = await grade(services, site, KITCHEN, GOOD, card=neighbour.card_token)
    assert (fresh.points_awarded, fresh.balance_points) == (10, 10)


async def test_a_cap_of_zero_records_grades_and_earns_nothing(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    await services.rules.set(
        SYSTEM, event_id(), site.world.community_id, clock.now(), {"grading_daily_cap_points": 0}
    )
    graded = await grade(services, site, KITCHEN, GOOD)
    assert (graded.points_awarded, graded.capped, graded.entry_id) == (0, True, None)
    assert len(await inspections(site.world.household_id)) == 1


# --- drop-off windows ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "second", "allowed"),
    [
        (6, 59, 0, False),
        (6, 59, 59, False),
        (7, 0, 0, True),
        (8, 59, 0, True),
        (8, 59, 59, True),
        (9, 0, 0, False),
        (17, 59, 59, False),
        (18, 0, 0, True),
        (19, 59, 59, True),
        (20, 0, 0, False),
        (0, 0, 0, False),
    ],
)
async def test_dropoff_window_edges(
    services: Services, clock: FrozenClock, hour: int, minute: int, second: int, allowed: bool
) -> None:
    clock.moment = hangzhou(24, 20)
    site = await make_site(services)
    clock.moment = hangzhou(25, hour, minute, second)
    if allowed:
        dropped = await services.scans.dropoff(site.resident, event_id(), site.point.token)
        assert dropped.repeat is False
        assert len(await dropoffs(site.world.household_id)) == 1
    else:
        with pytest.raises(OutsideWindow) as refused:
            await services.scans.dropoff(site.resident, event_id(), site.point.token)
        assert refused.value.extra["windows"] == "07:00-09:00, 18:00-20:00"
        assert await dropoffs(site.world.household_id) == []


async def test_a_point_without_windows_is_open_all_day_and_a_window_may_end_at_midnight(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(24, 20)
    site = await make_site(services)
    always = await services.registry.create_point(
        SYSTEM, event_id(), site.world.compound_id, "全天点", []
    )
    late = await services.registry.create_point(
        SYSTEM, event_id(), site.world.compound_id, "夜间点", ["22:00-24:00"]
    )
    clock.moment = hangzhou(25, 0, 0)
    assert not (await services.scans.dropoff(site.resident, event_id(), always.token)).repeat
    clock.moment = hangzhou(25, 23, 59, 59)
    assert not (await services.scans.dropoff(site.resident, event_id(), late.token)).repeat
    clock.moment = hangzhou(26, 0, 0)
    with pytest.raises(OutsideWindow):
        await services.scans.dropoff(site.resident, event_id(), late.token)
    fresh = await services.scans.dropoff(site.resident, event_id(), always.token)
    assert fresh.repeat is False
    assert len(await dropoffs(site.world.household_id)) == 3


async def test_repeated_dropoffs_in_a_window_do_not_multiply(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(24, 20)
    site = await make_site(services)
    await services.rules.set(
        SYSTEM, event_id(), site.world.community_id, clock.now(), {"dropoff_points": 2}
    )
    clock.moment = hangzhou(25, 7, 30)
    key = event_id()
    first = await services.scans.dropoff(site.resident, key, site.point.token)
    assert first == DropoffRecorded(first.dropoff_id, 2, 2, repeat=False)
    clock.moment = hangzhou(25, 8, 45)
    assert await services.scans.dropoff(site.resident, key, site.point.token) == first
    repeat = await services.scans.dropoff(site.resident, event_id(), site.point2.token)
    assert repeat == DropoffRecorded(first.dropoff_id, 0, 2, repeat=True)
    assert len(await dropoffs(site.world.household_id)) == 1
    clock.moment = hangzhou(25, 18, 5)
    evening = await services.scans.dropoff(site.resident, event_id(), site.point.token)
    assert (evening.repeat, evening.points_awarded, evening.balance_points) == (
        False,
        2,
        4,
    )
    assert [e["kind"] for e in await entries(services, site.world.account_id)] == ["dropoff"] * 2


async def test_only_household_members_drop_off_and_only_in_their_community(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 7, 30)
    site = await make_site(services)
    with pytest.raises(Forbidden):
        await services.scans.dropoff(site.inspector, event_id(), site.point.token)
    elsewhere = await make_world(services, community="大关社区", compound="西一苑")
    far_point = await services.registry.create_point(
        SYSTEM, event_id(), elsewhere.compound_id, "远处点", []
    )
    with pytest.raises(OutOfScope):
        await services.scans.dropoff(site.resident, event_id(), far_point.token)


# --- scope -----------------------------------------------------------------------------------


async def test_an_inspector_grades_only_in_assigned_compounds(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    other = await services.registry.create_compound(
        SYSTEM, event_id(), site.world.community_id, "德胜新村"
    )
    other_point = await services.registry.create_point(
        SYSTEM, event_id(), other.id, "德胜1号点", []
    )
    outsider = await make_user(services, Role.INSPECTOR, compound_ids=frozenset({other.id}))
    with pytest.raises(OutOfScope):
        await grade(services, site, KITCHEN, GOOD, inspector=outsider)
    with pytest.raises(OutOfScope):
        await grade(services, site, KITCHEN, GOOD, point_token=other_point.token)
    nobody = await make_user(services, Role.INSPECTOR)
    with pytest.raises(OutOfScope):
        await grade(services, site, KITCHEN, GOOD, inspector=nobody)
    assert await inspections(site.world.household_id) == []
    assert await balance(services, site.world.account_id) == 0


async def test_an_inspector_never_grades_their_own_building(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)  # the household lives in building 3
    compounds = frozenset({site.world.compound_id})
    home = await make_household(services, site.world.compound_id, building="3", room="601")
    neighbour = await make_user(
        services, Role.INSPECTOR, household_id=home.id, compound_ids=compounds
    )
    with pytest.raises(OutOfScope) as refused:
        await grade(services, site, KITCHEN, GOOD, inspector=neighbour)
    assert "own building" in refused.value.detail
    with pytest.raises(OutOfScope):
        await grade(services, site, KITCHEN, GOOD, inspector=neighbour, card=home.card_token)

    # Another building of the same compound is fine, and so is building 3 of another compound.
    across = await make_household(services, site.world.compound_id, building="5", room="101")
    assert (
        await grade(services, site, KITCHEN, GOOD, inspector=neighbour, card=across.card_token)
    ).points_awarded == 10
    other = await services.registry.create_compound(
        SYSTEM, event_id(), site.world.community_id, "德胜新村"
    )
    elsewhere_home = await make_household(services, other.id, building="3", room="601")
    visitor = await make_user(
        services, Role.INSPECTOR, household_id=elsewhere_home.id, compound_ids=compounds
    )
    assert (await grade(services, site, KITCHEN, GOOD, inspector=visitor)).points_awarded == 10


async def test_a_clerk_weighs_only_in_their_compounds(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    stranger = await make_user(services, Role.CLERK)
    with pytest.raises(OutOfScope):
        await services.scans.weighin(
            stranger, event_id(), site.world.card_token, Material.PAPER, 1000
        )


# --- codes -----------------------------------------------------------------------------------


async def test_forged_altered_and_malformed_codes_are_refused(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    household_id = site.world.household_id
    own_key_id = services.codes.keyring.current_key_id
    stranger = Keyring(current_key_id=own_key_id, keys={own_key_id: b"not our key at all"})
    forged = sign(ScanCode(CodeKind.HOUSEHOLD, household_id, 1), stranger)
    unknown_key = Keyring(current_key_id="z", keys={"z": b"nor this one"})
    head, id_text, serial, key_id, tag = site.world.card_token.split(".")
    altered_id = ".".join((head, id_text + "0", serial, key_id, tag))
    altered_tag = ".".join(
        (head, id_text, serial, key_id, ("A" if tag[0] != "A" else "B") + tag[1:])
    )
    for token in (
        forged,
        sign(ScanCode(CodeKind.HOUSEHOLD, household_id, 1), unknown_key),
        altered_id,
        altered_tag,
    ):
        with pytest.raises(CodeForged):
            await grade(services, site, KITCHEN, GOOD, card=token)
    with pytest.raises(CodeForged):
        await services.scans.dropoff(site.resident, event_id(), site.point.token[:-2] + "xx")
    for token in ("hello", "", "2h.1.1.a.tag", site.world.card_token + ".extra"):
        with pytest.raises(CodeMalformed):
            await grade(services, site, KITCHEN, GOOD, card=token)
    assert await inspections(household_id) == []
    assert await balance(services, site.world.account_id) == 0


async def test_a_genuine_code_of_another_kind_is_refused(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 7, 30)
    site = await make_site(services)
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    with pytest.raises(CodeWrongKind):  # a post's code where a household card belongs
        await grade(services, site, KITCHEN, GOOD, card=post)
    with pytest.raises(CodeWrongKind):  # a household card where the point's code belongs
        await grade(services, site, KITCHEN, GOOD, point_token=site.world.card_token)
    with pytest.raises(CodeWrongKind):
        await services.scans.weighin(site.clerk, event_id(), site.point.token, Material.PAPER, 1)
    with pytest.raises(CodeWrongKind):
        await services.scans.dropoff(site.resident, event_id(), site.world.card_token)
    with pytest.raises(CodeWrongKind):
        await services.shifts.check_in(volunteer.member, event_id(), site.point.token)
    assert await shifts(volunteer.id) == []


async def test_a_card_reissued_revokes_the_old_one(services: Services, clock: FrozenClock) -> None:
    site = await make_site(services)
    old = site.world.card_token
    assert (await grade(services, site, KITCHEN, GOOD, card=old)).points_awarded == 10
    new = (
        await services.registry.reissue_card(SYSTEM, event_id(), site.world.household_id)
    ).card_token
    assert new != old
    with pytest.raises(CodeRevoked):
        await grade(services, site, RECYCLABLE, GOOD, card=old)
    with pytest.raises(CodeRevoked):
        await services.scans.weighin(site.clerk, event_id(), old, Material.PAPER, 1000)
    assert (await grade(services, site, RECYCLABLE, GOOD, card=new)).balance_points == 20


async def test_a_signed_code_for_nothing_is_not_found(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    ghost = services.codes.token(CodeKind.HOUSEHOLD, 987_654, 1)
    with pytest.raises(NotFound):
        await grade(services, site, KITCHEN, GOOD, card=ghost)


# --- weigh-ins -------------------------------------------------------------------------------


async def test_absurd_weights_are_refused(services: Services, clock: FrozenClock) -> None:
    site = await make_site(services)
    card = site.world.card_token
    heaviest = await services.scans.weighin(site.clerk, event_id(), card, Material.METAL, 30_000)
    assert (heaviest.points_awarded, heaviest.capped) == (300, True)  # 3,000, cut to 300
    for grams in (30_001, 50_000, 0, -5, 10_000_000):
        with pytest.raises(InvalidInput) as refused:
            await services.scans.weighin(site.clerk, event_id(), card, Material.PAPER, grams)
        assert refused.value.extra["field"] == "grams"
    assert await balance(services, site.world.account_id) == 300
    assert len(await weighins(site.world.household_id)) == 1
    await services.rules.set(
        SYSTEM, event_id(), site.world.community_id, clock.now(), {"weighin_grams_max": 20_000}
    )
    with pytest.raises(InvalidInput):
        await services.scans.weighin(site.clerk, event_id(), card, Material.PAPER, 20_001)


async def test_weighin_points_stop_at_the_households_daily_cap(
    services: Services, clock: FrozenClock
) -> None:
    """The review's finding: a clerk credited 10,000 points in two requests. Now a household
    earns at most 300 weigh-in points a local day; later weigh-ins are recorded with 0."""
    clock.moment = hangzhou(25, 23, 0)
    site = await make_site(services)
    card = site.world.card_token
    other = await make_household(services, site.world.compound_id, building="5")

    async def weigh(grams: int, token: str = card) -> WeighinRecorded:
        return await services.scans.weighin(site.clerk, event_id(), token, Material.METAL, grams)

    assert (await weigh(2_500)).points_awarded == 250
    cut = await weigh(2_000)
    assert (cut.points_awarded, cut.capped, cut.balance_points) == (50, True, 300)
    assert "cap" in cut.message
    clock.moment = hangzhou(25, 23, 59, 59)
    over = await weigh(30_000)
    assert (over.points_awarded, over.capped, over.entry_id) == (0, True, None)
    assert (await weigh(1_000, other.card_token)).points_awarded == 100  # per household
    clock.moment = hangzhou(26, 0, 0)  # a new local day
    fresh = await weigh(1_000)
    assert (fresh.points_awarded, fresh.capped, fresh.balance_points) == (100, False, 400)

    rows = await weighins(site.world.household_id)
    assert [(row["grams"], row["points_awarded"]) for row in rows] == [
        (2_500, 250),
        (2_000, 50),
        (30_000, 0),
        (1_000, 100),
    ]
    assert [e["amount_points"] for e in await entries(services, site.world.account_id)] == [
        250,
        50,
        100,
    ]
    await services.rules.set(
        SYSTEM, event_id(), site.world.community_id, clock.now(), {"weighin_daily_cap_points": 150}
    )
    assert (await weigh(1_000)).points_awarded == 50  # a lower cap counts the day so far
    assert (await services.verifier.verify()).ok


async def test_a_clerk_never_weighs_for_their_own_building(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)  # the household lives in building 3
    compounds = frozenset({site.world.compound_id})
    home = await make_household(services, site.world.compound_id, building="3", room="601")
    clerk = await make_user(services, Role.CLERK, household_id=home.id, compound_ids=compounds)
    for card in (home.card_token, site.world.card_token):  # their home, their neighbour
        with pytest.raises(OutOfScope) as refused:
            await services.scans.weighin(clerk, event_id(), card, Material.METAL, 1_000)
        assert "own building" in refused.value.detail
    assert await weighins(home.id) == []
    assert await balance(services, home.account_id) == 0
    across = await make_household(services, site.world.compound_id, building="5", room="101")
    weighed = await services.scans.weighin(
        clerk, event_id(), across.card_token, Material.METAL, 1_000
    )
    assert weighed.points_awarded == 100


async def weighins(household_id: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = await (
        Weighin.select().where(Weighin.household == household_id).order_by(Weighin.id)
    )
    return rows


async def test_the_same_event_id_with_another_grade_is_a_conflict(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    first = await grade(services, site, KITCHEN, GOOD, key="grade-once")
    assert await grade(services, site, KITCHEN, GOOD, key="grade-once") == first
    with pytest.raises(IdempotencyConflict):
        await grade(services, site, KITCHEN, FAIR, key="grade-once")
    assert len(await inspections(site.world.household_id)) == 1


# --- shifts ----------------------------------------------------------------------------------


async def test_check_in_while_open_and_check_out_at_another_post_are_refused(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    east, west = (
        await make_post(services, site, "东门岗"),
        await make_post(services, site, "西门岗"),
    )
    volunteer = await make_volunteer(services, site)
    me = volunteer.member
    with pytest.raises(NoOpenShift):
        await services.shifts.check_out(me, event_id(), east)
    opened = await services.shifts.check_in(me, event_id(), east)
    clock.advance(minutes=20)
    with pytest.raises(ShiftOpen) as refused:
        await services.shifts.check_in(me, event_id(), west)
    assert refused.value.extra["shift_id"] == opened.shift_id
    with pytest.raises(NoOpenShift) as elsewhere:
        await services.shifts.check_out(me, event_id(), west)
    assert "another post" in elsewhere.value.detail
    assert [row["status"] for row in await shifts(volunteer.id)] == ["open"]
    clock.advance(minutes=25)
    closed = await services.shifts.check_out(me, event_id(), east)
    assert closed == ShiftClosed(opened.shift_id, 45, "pending")
    with pytest.raises(Forbidden):
        await services.shifts.check_in(site.inspector, event_id(), east)


async def test_a_shift_across_midnight_counts_on_the_day_it_began(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    post = await make_post(services, site, "夜岗")
    volunteer = await make_volunteer(services, site)
    clock.moment = hangzhou(25, 17)
    await services.shifts.check_in(volunteer.member, event_id(), post)
    clock.moment = hangzhou(26, 0, 30)  # 7 h 30 min
    await services.shifts.check_out(volunteer.member, event_id(), post)
    clock.moment = hangzhou(26, 0, 40)
    await services.shifts.check_in(volunteer.member, event_id(), post)
    clock.moment = hangzhou(26, 1, 40)
    next_day = await services.shifts.check_out(volunteer.member, event_id(), post)
    assert next_day.minutes == 60  # a new local day: the 8 hours start again
    days = [(row["local_day"].isoformat(), row["minutes"]) for row in await shifts(volunteer.id)]
    assert days == [("2026-11-25", 450), ("2026-11-26", 60)]


async def test_the_daily_maximum_is_exact(services: Services, clock: FrozenClock) -> None:
    site = await make_site(services)
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    me = volunteer.member
    clock.moment = hangzhou(25, 8)
    await services.shifts.check_in(me, event_id(), post)
    clock.moment = hangzhou(25, 16)
    assert (await services.shifts.check_out(me, event_id(), post)).minutes == 480
    await services.shifts.check_in(me, event_id(), post)
    clock.moment = hangzhou(25, 17)
    over = await services.shifts.check_out(me, event_id(), post)
    assert (over.minutes, over.status) == (0, "declined")


async def test_a_shift_open_exactly_twelve_hours_is_closed_and_flagged(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    me = volunteer.member
    clock.moment = hangzhou(25, 6)
    almost = await services.shifts.check_in(me, event_id(), post)
    clock.advance(hours=12, seconds=-1)
    closed = await services.shifts.check_out(me, event_id(), post)
    assert closed == ShiftClosed(almost.shift_id, 480, "pending")

    clock.moment = hangzhou(26, 6)
    forgotten = await services.shifts.check_in(me, event_id(), post)
    clock.advance(hours=12)
    late = await services.shifts.check_out(me, event_id(), post)
    assert late.shift_id == forgotten.shift_id
    assert (late.minutes, late.status, late.flagged) == (0, "pending", True)
    row = (await shifts(volunteer.id))[-1]
    assert (row["status"], row["flagged"], row["minutes"]) == ("pending", True, 0)
    assert row["ended_at"] == hangzhou(26, 18)
    with pytest.raises(NoOpenShift):
        await services.shifts.check_out(me, event_id(), post)


async def test_the_automatic_close_follows_the_communitys_rule(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    await services.rules.set(
        SYSTEM,
        event_id(),
        site.world.community_id,
        clock.now(),
        {"shift_auto_close_minutes": 120},
    )
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    opened = await services.shifts.check_in(volunteer.member, event_id(), post)
    clock.advance(minutes=119)
    assert await services.shifts.close_stale() == 0
    clock.advance(minutes=1)
    assert await services.shifts.close_stale() == 1
    (row,) = await shifts(volunteer.id)
    assert (row["id"], row["status"], row["flagged"]) == (opened.shift_id, "pending", True)
    assert row["ended_at"] - row["started_at"] == timedelta(minutes=120)


async def test_back_filled_hours_are_checked(services: Services, clock: FrozenClock) -> None:
    site = await make_site(services)
    volunteer = await make_volunteer(services, site)
    today = clock.now().date()
    with pytest.raises(InvalidInput):
        await services.shifts.backfill(
            site.coordinator,
            event_id(),
            volunteer_id=volunteer.id,
            compound_id=site.world.compound_id,
            day=today + timedelta(days=1),
            minutes=60,
            note="future",
        )
    stranger = await make_user(services, Role.COORDINATOR)
    with pytest.raises(OutOfScope):
        await services.shifts.backfill(
            stranger,
            event_id(),
            volunteer_id=volunteer.id,
            compound_id=site.world.compound_id,
            day=today,
            minutes=60,
            note="册",
        )
    for minutes, note in ((0, "册"), (1441, "册"), (60, "  ")):
        with pytest.raises(InvalidInput):
            await services.shifts.backfill(
                site.coordinator,
                event_id(),
                volunteer_id=volunteer.id,
                compound_id=site.world.compound_id,
                day=today,
                minutes=minutes,
                note=note,
            )
    assert await shifts(volunteer.id) == []


async def test_back_filled_and_approved_minutes_stay_within_the_daily_maximum(
    services: Services, clock: FrozenClock
) -> None:
    """The review's finding: 72 h back-filled in one day. Now approved plus back-filled minutes
    of a volunteer's local day never pass `shift_daily_minutes_max` (8 h by default)."""
    clock.moment = hangzhou(25, 8)
    site = await make_site(services)
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    today = clock.now().date()

    async def backfill(minutes: int, day: object = today) -> HoursBackfilled:
        return await services.shifts.backfill(
            site.coordinator,
            event_id(),
            volunteer_id=volunteer.id,
            compound_id=site.world.compound_id,
            day=day,
            minutes=minutes,
            note="册",
        )

    with pytest.raises(TooManyMinutes) as refused:
        await backfill(1440)
    assert refused.value.extra["minutes_left"] == 480
    assert (await backfill(300)).minutes == 300
    with pytest.raises(TooManyMinutes) as refused:
        await backfill(181)
    assert refused.value.extra["minutes_left"] == 180
    assert (await backfill(180)).minutes == 180  # exactly 8 h
    with pytest.raises(TooManyMinutes):
        await backfill(1)
    assert (await backfill(480, today - timedelta(days=1))).minutes == 480  # another day

    # A scanned shift of the same day cannot be approved on top of the 8 h back-filled.
    await services.shifts.check_in(volunteer.member, event_id(), post)
    clock.advance(hours=1)
    closed = await services.shifts.check_out(volunteer.member, event_id(), post)
    assert (closed.minutes, closed.status) == (60, "pending")
    with pytest.raises(TooManyMinutes):
        await services.shifts.decide(site.coordinator, event_id(), [closed.shift_id], True)
    assert (await shifts(volunteer.id))[-1]["status"] == "pending"
    declined = await services.shifts.decide(site.coordinator, event_id(), [closed.shift_id], False)
    assert declined.results[0].status == "declined"
    hours = await services.shifts.hours(volunteer.member, volunteer.id)
    assert (hours.approved_minutes, hours.backfilled_minutes) == (0, 300 + 180 + 480)


async def test_approvals_in_one_request_count_each_other(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 8)
    site = await make_site(services)
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    await services.shifts.backfill(
        site.coordinator,
        event_id(),
        volunteer_id=volunteer.id,
        compound_id=site.world.compound_id,
        day=clock.now().date(),
        minutes=300,
        note="册",
    )
    pending = []
    for _ in range(2):  # two scanned shifts of 2 h: 300 + 120 fits, 300 + 240 does not
        await services.shifts.check_in(volunteer.member, event_id(), post)
        clock.advance(hours=2)
        pending.append(await services.shifts.check_out(volunteer.member, event_id(), post))
    ids = [closed.shift_id for closed in pending]
    with pytest.raises(TooManyMinutes):
        await services.shifts.decide(site.coordinator, event_id(), ids, True)
    assert [row["status"] for row in await shifts(volunteer.id)][1:] == ["pending"] * 2
    assert await balance(services, volunteer.account_id) == 0  # all or none
    approved = await services.shifts.decide(site.coordinator, event_id(), ids[:1], True)
    assert approved.results[0].points_awarded == 20


async def test_staff_never_approve_or_back_fill_their_own_hours(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 8)
    site = await make_site(services)
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    compounds = frozenset({site.world.compound_id})
    himself = await make_user(
        services, Role.COORDINATOR, volunteer_id=volunteer.id, compound_ids=compounds
    )
    with pytest.raises(OwnRecord):
        await services.shifts.backfill(
            himself,
            event_id(),
            volunteer_id=volunteer.id,
            compound_id=site.world.compound_id,
            day=clock.now().date(),
            minutes=60,
            note="册",
        )
    await services.shifts.check_in(volunteer.member, event_id(), post)
    clock.advance(hours=2)
    closed = await services.shifts.check_out(volunteer.member, event_id(), post)
    with pytest.raises(OwnRecord):
        await services.shifts.decide(himself, event_id(), [closed.shift_id], True)
    admin = await make_user(services, Role.ADMIN, volunteer_id=volunteer.id)
    with pytest.raises(OwnRecord):
        await services.shifts.decide(admin, event_id(), [closed.shift_id], True)
    assert [row["status"] for row in await shifts(volunteer.id)] == ["pending"]
    assert await balance(services, volunteer.account_id) == 0
    # Another coordinator approves it.
    approved = await services.shifts.decide(site.coordinator, event_id(), [closed.shift_id], True)
    assert approved.results[0].status == "approved"
