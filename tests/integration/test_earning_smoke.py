"""A first walk through earning; the full narrative tests live in test_earning_*.py."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.domain.access import SYSTEM, Role
from ledger.domain.rules import Grade, Material, Stream
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.services.shifts import ShiftClosed
from tests.factories import FrozenClock, event_id, make_user, make_world


async def test_inspection_dropoff_weighin_and_shift(services: Services, clock: FrozenClock) -> None:
    clock.moment = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # 08:30 in Hangzhou
    world = await make_world(services)
    point = await services.registry.create_point(
        SYSTEM, event_id(), world.compound_id, "1号点", ["07:00-09:00", "18:00-20:00"]
    )
    inspector = await make_user(
        services, Role.INSPECTOR, compound_ids=frozenset({world.compound_id})
    )
    graded = await services.gradings.inspect(
        inspector,
        Grading(event_id(), world.card_token, point.token, Stream.KITCHEN, Grade.GOOD, [], None),
    )
    assert graded.points_awarded == 10
    resident = await make_user(services, Role.RESIDENT, household_id=world.household_id)
    drop = await services.scans.dropoff(resident, event_id(), point.token)
    assert drop.points_awarded == 0
    clerk = await make_user(services, Role.CLERK, compound_ids=frozenset({world.compound_id}))
    weighed = await services.scans.weighin(
        clerk, event_id(), world.card_token, Material.PAPER, 2500
    )
    assert weighed.points_awarded == 250
    assert weighed.balance_points == 260
    volunteer = await services.registry.create_volunteer(
        SYSTEM, event_id(), world.community_id, "朱秀娟"
    )
    post = await services.registry.create_post(SYSTEM, event_id(), world.compound_id, "东门岗")
    member = await make_user(services, Role.VOLUNTEER, volunteer_id=volunteer.id)
    shift = await services.shifts.check_in(member, event_id(), post.token)
    clock.advance(minutes=100)
    closed = await services.shifts.check_out(member, event_id(), post.token)
    assert closed == ShiftClosed(shift.shift_id, 90, "pending")
    coordinator = await make_user(
        services, Role.COORDINATOR, compound_ids=frozenset({world.compound_id})
    )
    decided = await services.shifts.decide(coordinator, event_id(), [shift.shift_id], True)
    assert decided.results[0].points_awarded == 15
    assert (await services.verifier.verify()).ok
