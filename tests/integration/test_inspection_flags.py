"""Anomaly flags (issue 19, 2(c)) on a seeded world, both engines: twenty days of gradings by
four ordinary inspectors and one planted outlier, all through the grading service. The outlier
is flagged for its share of "good", its volume and its pace; one household graded every day by
the same ordinary inspector is flagged; nothing else is, and no flag moves a point."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.services.inspection_flags import inspection_flags
from ledger.store.tables import Entry
from tests.factories import event_id, make_household, make_user, make_world

DAYS = 20
FIRST = date(2026, 12, 1)


async def grade(
    services: Services, inspector: Principal, card: str, point: str, good: bool
) -> None:
    value = Grade.GOOD if good else Grade.FAIR
    reasons = [] if good else ["wrong_bin"]
    grading = Grading(event_id("g"), card, point, Stream.KITCHEN, value, reasons, None)
    await services.gradings.inspect(inspector, grading)


async def test_the_planted_outlier_and_the_sole_inspector_are_flagged_and_nobody_else(
    services: Services,
) -> None:
    services.clock.moment = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    world = await make_world(services)
    compounds = frozenset({world.compound_id})
    point = await services.registry.create_point(
        SYSTEM,
        event_id(),
        world.compound_id,
        "1号点",
        ["07:00-09:00", "09:00-20:00"],
    )
    peers = [await make_user(services, Role.INSPECTOR, compound_ids=compounds) for _ in range(4)]
    outlier = await make_user(services, Role.INSPECTOR, compound_ids=compounds)
    pool = [(await make_household(services, world.compound_id)).card_token for _ in range(10)]
    sole = await make_household(services, world.compound_id, building="9")
    start = services.clock.moment  # type: ignore[attr-defined]
    for day in range(DAYS):
        services.clock.moment = start + timedelta(days=day)  # type: ignore[attr-defined]
        for n, peer in enumerate(peers):  # two gradings 30 s apart, 60% good overall
            await grade(services, peer, pool[(day + n) % 10], point.token, (day + n) % 5 < 3)
            services.clock.advance(seconds=30)  # type: ignore[attr-defined]
            card = sole.card_token if n == 0 else pool[(day + n + 5) % 10]
            await grade(services, peer, card, point.token, (day + n + 1) % 5 < 3)
            services.clock.advance(seconds=30)  # type: ignore[attr-defined]
        for n in range(12 if day == 0 else 5):  # always "good", 2 s apart
            await grade(services, outlier, pool[(day * 5 + n) % 10], point.token, True)
            services.clock.advance(seconds=2)  # type: ignore[attr-defined]
    entries = await Entry.count()

    report = await inspection_flags(world.community_id, FIRST, FIRST + timedelta(days=27))

    found = {(f.kind, f.inspector_id, f.household_id) for f in report.flags}
    assert found == {
        ("good_share", outlier.user_id, None),
        ("volume", outlier.user_id, None),
        ("pace", outlier.user_id, None),
        ("sole_inspector", peers[0].user_id, sole.id),
    }
    by_kind = {f.kind: f for f in report.flags}
    assert by_kind["good_share"].statistic == "two-proportion z"
    assert by_kind["good_share"].value >= 3
    assert by_kind["pace"].value == 12
    assert by_kind["sole_inspector"].month == "2026-12"
    assert by_kind["sole_inspector"].value == DAYS
    assert by_kind["volume"].inspector == outlier.username
    assert await Entry.count() == entries  # flags inform; they never change points
