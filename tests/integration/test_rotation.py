"""The rotation plan in the store and the services, on both engines (issue 19, 2(a)).

The clock is frozen on Wednesday 25 November 2026, 10:00 local: ISO week 2026-W48, whose Monday
is 23 November. The guards are migrations/ledger_2026_12_06t10_00_03_000000.py's.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, datetime, timedelta

import asyncpg
import pytest

from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import Forbidden, InvalidInput, OutOfScope
from ledger.domain.rotation import WEEK, NotAssigned, RotationExceeded
from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.store.tables import InspectorAssignment
from tests.factories import FrozenClock, event_id, make_household, make_user
from tests.integration.earning_helpers import Site, hangzhou, make_site

MONDAY = date(2026, 11, 23)
REFUSED = (asyncpg.exceptions.IntegrityConstraintViolationError, sqlite3.IntegrityError)


async def _row(inspector: int | None, compound: int | None, week: date) -> None:
    await InspectorAssignment.insert(
        InspectorAssignment(
            inspector=inspector,
            compound=compound,
            week=week,
            assigned_by="sql",
            assigned_at=hangzhou(25, 10),
        )
    )


async def test_the_database_keeps_one_row_per_week_and_weeks_on_mondays(
    services: Services,
) -> None:
    site = await make_site(services)
    compound = site.world.compound_id
    await _row(site.inspector.user_id, compound, MONDAY)
    with pytest.raises(REFUSED):
        await _row(site.inspector.user_id, compound, MONDAY)
    with pytest.raises(REFUSED):
        await _row(site.inspector.user_id, compound, MONDAY + timedelta(days=1))  # a Tuesday
    with pytest.raises(REFUSED):
        await _row(None, compound, MONDAY + timedelta(days=7))
    assert await InspectorAssignment.count() == 1


class _B:
    def __init__(self, compound_id: int, card: str, point: str) -> None:
        self.id, self.card, self.point = compound_id, card, point


async def _compound_b(services: Services, site: Site) -> _B:
    created = await services.registry.create_compound(
        SYSTEM, event_id(), site.world.community_id, "南苑"
    )
    household = await make_household(services, created.id)
    point = await services.registry.create_point(SYSTEM, event_id(), created.id, "南门点", [])
    return _B(created.id, household.card_token, point.token)


def _grading(card: str, point: str, captured_at: datetime | None = None) -> Grading:
    return Grading(
        event_id("grade"),
        card,
        point,
        Stream.KITCHEN,
        Grade.GOOD,
        [],
        None,
        captured_at,
    )


async def test_a_grading_follows_the_plan_of_the_week_it_counts_in(
    services: Services, clock: FrozenClock
) -> None:
    """Assigned to B this week: a grading of A now is refused (`not_assigned`); one of A
    captured last Sunday (offline, within 72 h) follows last week's plan, which had none, so
    the standing scope (A) applies; B last week was never theirs."""
    site = await make_site(services)
    b = await _compound_b(services, site)
    a_card, a_point = site.world.card_token, site.point.token
    await services.rotation.assign(site.coordinator, site.inspector.user_id, b.id, MONDAY)
    await services.rotation.assign(
        site.coordinator, site.inspector.user_id, site.world.compound_id, MONDAY + timedelta(7)
    )
    inspector = await services.users.principal(site.inspector.user_id)
    assert inspector.rotation_span == (MONDAY - timedelta(7), MONDAY + timedelta(7))
    assert inspector.rotation == (
        (MONDAY, frozenset({b.id})),
        (MONDAY + timedelta(7), frozenset({site.world.compound_id})),
    )

    with pytest.raises(NotAssigned):
        await services.gradings.inspect(inspector, _grading(a_card, a_point))
    graded = await services.gradings.inspect(inspector, _grading(b.card, b.point))
    assert graded.points_awarded > 0
    last_sunday = hangzhou(22, 20)
    earlier = await services.gradings.inspect(inspector, _grading(a_card, a_point, last_sunday))
    assert earlier.inspection_id
    with pytest.raises(OutOfScope) as refused:
        await services.gradings.inspect(inspector, _grading(b.card, b.point, last_sunday))
    assert refused.value.code == "out_of_scope"

    today = await services.rotation.today(inspector)
    assert (today.week, today.planned) == ("2026-W48", True)
    assert [c.id for c in today.compounds] == [b.id]


async def test_the_run_limit_counts_weeks_on_both_sides_and_a_setting_changes_it(
    services: Services,
) -> None:
    site = await make_site(services)
    inspector, compound = site.inspector.user_id, site.world.compound_id
    weeks = [MONDAY + timedelta(weeks=n) for n in range(5)]
    for week in (weeks[0], weeks[1], weeks[3], weeks[4]):
        await services.rotation.assign(site.coordinator, inspector, compound, week)
    with pytest.raises(RotationExceeded) as refused:  # fills the gap: five running
        await services.rotation.assign(site.coordinator, inspector, compound, weeks[2])
    assert refused.value.extra["weeks"] == [f"2026-W{n}" for n in range(48, 53)]
    plan = await services.rotation.plan(site.coordinator, site.world.community_id, MONDAY, 5)
    assert [a.week_start for a in plan.assignments] == [weeks[0], weeks[1], weeks[3], weeks[4]]

    with pytest.raises(InvalidInput):
        await services.rotation.assign(site.coordinator, inspector, compound, MONDAY - timedelta(7))
    clerk = await make_user(services, Role.CLERK, compound_ids=frozenset({compound}))
    with pytest.raises(Forbidden, match="only coordinators"):
        await services.rotation.assign(clerk, inspector, compound, weeks[2])


async def test_two_coordinators_extending_a_run_at_once_cannot_both_pass(
    services: Services,
) -> None:
    """Three weeks planned (W49–W51, limit 4): adding W48 or W52 alone is allowed, both would
    make five running. Sent at once, exactly one is accepted (the inspector's row lock). Five
    inspectors, one race each: without the lock PostgreSQL let both through in every round."""
    site = await make_site(services)
    compound = site.world.compound_id
    for _ in range(5):
        inspector = await make_user(services, Role.INSPECTOR, compound_ids=frozenset({compound}))
        for n in (1, 2, 3):
            await services.rotation.assign(
                site.coordinator, inspector.user_id, compound, MONDAY + n * WEEK
            )
        results = await asyncio.gather(
            services.rotation.assign(site.coordinator, inspector.user_id, compound, MONDAY),
            services.rotation.assign(
                site.coordinator, inspector.user_id, compound, MONDAY + 4 * WEEK
            ),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, RotationExceeded)]
        assert len(refused) == 1, results
    assert await InspectorAssignment.count() == 5 * 4
