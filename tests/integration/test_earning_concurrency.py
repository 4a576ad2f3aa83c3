"""Earning under concurrent requests: caps, replays and one-at-a-time states hold.

PostgreSQL only: SQLite has one writer at a time, so nothing here can interleave there.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import AlreadyDecided, ShiftOpen, TooManyMinutes
from ledger.domain.rules import Grade, Material, Stream
from ledger.services.container import Services
from ledger.store.tables import Appeal, Weighin
from tests.factories import FrozenClock, event_id, make_user
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

pytestmark = pytest.mark.postgres

ROUNDS = 3


async def test_grading_at_several_points_at_once_never_beats_the_daily_cap(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    compounds = frozenset({site.world.compound_id})
    points = [site.point, site.point2]
    for number in range(3, 5):
        points.append(
            await services.registry.create_point(
                SYSTEM, event_id(), site.world.compound_id, f"{number}号点", []
            )
        )
    inspectors = [
        await make_user(services, Role.INSPECTOR, compound_ids=compounds) for _ in range(8)
    ]
    for day in range(ROUNDS):
        clock.moment = hangzhou(25 + day, 8)
        jobs = [
            grade(
                services,
                site,
                stream,
                Grade.GOOD,
                inspector=inspectors[index],
                point_token=points[index % len(points)].token,
            )
            for index, stream in enumerate([*Stream, *Stream])
        ]
        results = await asyncio.gather(*jobs)
        awarded = [result.points_awarded for result in results]
        assert sum(awarded) == 30, awarded
        assert sorted(awarded) == [0] * 5 + [10] * 3
        scored = Counter(
            r["stream"]
            for r in await inspections(site.world.household_id)
            if r["scored"] and r["local_day"] == clock.now().date()
        )
        assert all(count == 1 for count in scored.values()), scored
        assert await balance(services, site.world.account_id) == 30 * (day + 1)
    history = await entries(services, site.world.account_id)
    assert sum(entry["amount_points"] for entry in history) == 30 * ROUNDS
    assert (await services.verifier.verify()).ok


async def test_concurrent_weighins_never_beat_the_households_daily_cap(
    services: Services, clock: FrozenClock
) -> None:
    """Eight clerks weigh for one household at once, 70 points each: 300 a day in total (the
    household's account row lock orders the reads of the day's points), every weigh-in kept."""
    site = await make_site(services)
    compounds = frozenset({site.world.compound_id})
    clerks = [await make_user(services, Role.CLERK, compound_ids=compounds) for _ in range(8)]
    for day in range(ROUNDS):
        clock.moment = hangzhou(25 + day, 10)
        results = await asyncio.gather(
            *(
                services.scans.weighin(
                    clerk, event_id(), site.world.card_token, Material.PAPER, 700
                )
                for clerk in clerks
            )
        )
        awarded = sorted(result.points_awarded for result in results)
        assert awarded == [0] * 3 + [20] + [70] * 4, awarded
        assert await balance(services, site.world.account_id) == 300 * (day + 1)
    rows = await Weighin.select(Weighin.points_awarded).where(
        Weighin.household == site.world.household_id
    )
    assert len(rows) == 8 * ROUNDS
    assert sum(row["points_awarded"] for row in rows) == 300 * ROUNDS
    history = await entries(services, site.world.account_id)
    assert sum(entry["amount_points"] for entry in history) == 300 * ROUNDS
    assert (await services.verifier.verify()).ok


async def test_concurrent_back_fills_never_pass_the_daily_maximum(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    compounds = frozenset({site.world.compound_id})
    volunteer = await make_volunteer(services, site)
    coordinators = [
        await make_user(services, Role.COORDINATOR, compound_ids=compounds) for _ in range(6)
    ]
    outcomes = await asyncio.gather(
        *(
            services.shifts.backfill(
                coordinator,
                event_id(),
                volunteer_id=volunteer.id,
                compound_id=site.world.compound_id,
                day=clock.now().date(),
                minutes=180,
                note="册",
            )
            for coordinator in coordinators
        ),
        return_exceptions=True,
    )
    filled = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, TooManyMinutes)]
    assert (len(filled), len(refused)) == (2, 4), outcomes
    assert sum(row["minutes"] for row in await shifts(volunteer.id)) == 360


async def test_eight_copies_of_one_inspection_make_one_record_and_one_entry(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    results = await asyncio.gather(
        *(grade(services, site, Stream.KITCHEN, Grade.GOOD, key="same-grade") for _ in range(8))
    )
    assert all(result == results[0] for result in results)
    assert len(await inspections(site.world.household_id)) == 1
    assert len(await entries(services, site.world.account_id)) == 1
    assert await balance(services, site.world.account_id) == 10


async def test_concurrent_check_ins_open_exactly_one_shift(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    posts = [await make_post(services, site, f"{n}号岗") for n in range(4)]
    volunteer = await make_volunteer(services, site)
    outcomes = await asyncio.gather(
        *(services.shifts.check_in(volunteer.member, event_id(), posts[n % 4]) for n in range(8)),
        return_exceptions=True,
    )
    opened = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, ShiftOpen)]
    assert (len(opened), len(refused)) == (1, 7), outcomes
    rows = await shifts(volunteer.id)
    assert [row["status"] for row in rows] == ["open"]
    assert all(error.extra["shift_id"] == rows[0]["id"] for error in refused)


async def test_concurrent_dropoffs_in_one_window_make_one_record(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    await services.rules.set(
        SYSTEM, event_id(), site.world.community_id, clock.now(), {"dropoff_points": 3}
    )
    clock.moment = hangzhou(25, 18, 15)
    results = await asyncio.gather(
        *(services.scans.dropoff(site.resident, event_id(), site.point.token) for _ in range(8))
    )
    assert sorted(result.repeat for result in results) == [False] + [True] * 7
    assert len({result.dropoff_id for result in results}) == 1
    assert len(await dropoffs(site.world.household_id)) == 1
    assert await balance(services, site.world.account_id) == 3


async def test_one_shift_approved_by_several_coordinators_at_once_pays_once(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    opened = await services.shifts.check_in(volunteer.member, event_id(), post)
    clock.advance(hours=2)
    await services.shifts.check_out(volunteer.member, event_id(), post)
    compounds = frozenset({site.world.compound_id})
    coordinators = [
        await make_user(services, Role.COORDINATOR, compound_ids=compounds) for _ in range(6)
    ]
    outcomes = await asyncio.gather(
        *(
            services.shifts.decide(coordinator, event_id(), [opened.shift_id], True)
            for coordinator in coordinators
        ),
        return_exceptions=True,
    )
    approved = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(approved) == 1, outcomes
    assert all(isinstance(o, AlreadyDecided) for o in outcomes if isinstance(o, BaseException))
    assert await balance(services, volunteer.account_id) == 20
    assert len(await entries(services, volunteer.account_id)) == 1


async def test_one_appeal_upheld_twice_at_once_is_credited_once(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    poor = await grade(services, site, Stream.KITCHEN, Grade.POOR)
    opened = await services.appeals.open(site.resident, event_id(), poor.inspection_id, "错判")
    compounds = frozenset({site.world.compound_id})
    coordinators = [
        await make_user(services, Role.COORDINATOR, compound_ids=compounds) for _ in range(6)
    ]
    outcomes: list[Any] = await asyncio.gather(
        *(
            services.appeals.decide(c, event_id(), opened.appeal_id, True, Grade.GOOD)
            for c in coordinators
        ),
        return_exceptions=True,
    )
    decided = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(decided) == 1, outcomes
    assert all(isinstance(o, AlreadyDecided) for o in outcomes if isinstance(o, BaseException))
    assert await balance(services, site.world.account_id) == 10
    appeal = await Appeal.select().where(Appeal.id == opened.appeal_id).first()
    assert appeal is not None
    assert appeal["decided_by"] == next(
        c.user_id for c in coordinators if c.username == decided[0].decided_by
    )
