"""What one graded credit sends to PostgreSQL: each statement is a round trip, and round trips
are most of a credit's cost (docs/BENCHMARKS.md). This pins the list, so a change that adds one
shows here and not only in the next benchmark."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from bench.common import CaptureStatements
from bench.floor import SQL as FLOOR_SQL
from bench.floor import Floor, no_reset
from ledger.domain.accounts import issuance_stripe
from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from ledger.store import facts
from tests.factories import make_household
from tests.integration.earning_helpers import grade, make_site

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
DAY = date(2026, 12, 4)

# The reads before the lock in one statement; then the lock and, after it, the day's grades with
# the new ids, in one round trip (`grading_lock`).
GRADED_CREDIT = [
    "BEGIN; SET LOCAL plan_cache_mode",
    "SELECT idempotency_record UNION ALL SELECT household UNION ALL SELECT collection_point "
    "UNION ALL SELECT earning_rule",
    "SELECT grading_lock",
    "INSERT INTO idempotency_record + UPDATE account, INSERT INTO entry, INSERT INTO "
    "entry_unsealed, INSERT INTO lot, INSERT INTO lot_total, INSERT INTO board_fact, "
    "INSERT INTO inspection",
    "COMMIT",
]


async def test_a_graded_credit_is_five_round_trips(services: Services) -> None:
    site = await make_site(services)
    # The first credit on a stripe reads the stripe's account id once per process.
    first, second = _two_events_on_one_stripe()
    await grade(services, site, Stream.KITCHEN, Grade.GOOD, key=first)
    with CaptureStatements() as capture:
        reply = await grade(services, site, Stream.RECYCLABLE, Grade.GOOD, key=second)
    assert reply.scored
    assert reply.entry_id is not None
    assert capture.shapes() == GRADED_CREDIT
    # The floor (bench/floor.py) sends the same carried INSERT, text for text.
    assert FLOOR_SQL["claim"] in capture.statements


async def test_the_floor_sends_what_a_grading_sends_text_for_text(services: Services) -> None:
    """Row 1 of `make bench` (bench/floor.py) against one grading, a group of one: the same
    statements in the same order with the same texts (both on a stripe already read)."""
    site = await make_site(services)
    first, second = _two_events_on_one_stripe()
    await grade(services, site, Stream.KITCHEN, Grade.GOOD, key=first)
    with CaptureStatements() as ledger:
        await grade(services, site, Stream.RECYCLABLE, Grade.GOOD, key=second)
    fresh = await make_household(services, site.world.compound_id, building="9")
    compound = site.world.compound_id
    fixture = {
        "points": {str(compound): [site.point.id]},
        "inspector": {"id": site.inspector.user_id, "username": site.inspector.username},
    }
    dsn = services.db.engine.config["dsn"]
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, reset=no_reset)
    assert pool is not None
    try:
        floor = Floor(pool, fixture, [(fresh.id, None, compound, None)])
        async with pool.acquire() as db:
            stripes = await db.fetch(
                "SELECT community, stripe, id FROM account WHERE kind = 'issuance'"
            )
        floor.stripes = {(row["community"], row["stripe"]): row["id"] for row in stripes}
        with CaptureStatements() as bench:
            assert await floor.credit(-1) == (1, None)
    finally:
        await pool.close()
    assert len(bench.statements) == len(GRADED_CREDIT)
    assert bench.statements == ledger.statements


async def test_a_group_of_gradings_is_the_same_six_round_trips(services: Services) -> None:
    """Twenty gradings sent at once: one group, the same statements as one grading."""
    site = await make_site(services)
    households = [
        await make_household(services, site.world.compound_id, building=str(10 + n))
        for n in range(20)
    ]
    for stripe in range(16):  # every stripe's account id is read once per process
        await _grade_on_stripe(services, site, stripe)
    with CaptureStatements() as capture:
        replies = await asyncio.gather(
            *(
                grade(services, site, Stream.KITCHEN, Grade.GOOD, card=h.card_token)
                for h in households
            )
        )
    assert all(reply.points_awarded == 10 for reply in replies)
    assert capture.shapes() == GRADED_CREDIT


async def _grade_on_stripe(services: Services, site: Any, stripe: int) -> None:
    key = next(
        k for k in (f"warm-{stripe}-{n}" for n in range(10_000)) if issuance_stripe(k) == stripe
    )
    await grade(services, site, Stream.OTHER, Grade.POOR, key=key)


def _two_events_on_one_stripe() -> tuple[str, str]:
    first = "grade-first"
    second = next(
        key
        for key in (f"grade-{n}" for n in range(1_000))
        if issuance_stripe(key) == issuance_stripe(first) and key != first
    )
    return first, second


async def test_writes_left_waiting_go_before_commit_in_one_statement(services: Services) -> None:
    site = await make_site(services)
    community = site.world.community_id
    with CaptureStatements() as capture:
        async with services.db.write():
            await facts.record(community, "points", {"account": 1, "delta": 1}, DAY, NOW)
            await facts.record_many(community, [("grade", {"graded": 1})] * 2, DAY, NOW)
    assert capture.shapes() == [
        "BEGIN",
        "SELECT ? + INSERT INTO board_fact, INSERT INTO board_fact",
        "COMMIT",
    ]
