"""Boards count points earned: an adjustment or a carry-over never moves a rank, the reversal of
an earned entry does; Redis, SQL and `check-projections` agree."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from redis.asyncio import Redis

from ledger.domain.access import SYSTEM, Role
from ledger.domain.entries import EntryKind
from ledger.domain.leaderboard import Board, Period, counts_as_earned
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Stream
from ledger.services.boards import Boards, differences
from ledger.services.container import Services
from ledger.services.grading import Grading
from tests.conftest import REDIS_URL
from tests.factories import FrozenClock, event_id, make_household, make_user, make_world

pytestmark = pytest.mark.redis


@pytest.fixture
async def with_redis(services: Services, redis: Redis) -> AsyncIterator[Services]:
    built = Services.build(
        services.codes.keyring,
        "http://testserver",
        clock=services.clock,
        redis=Redis.from_url(REDIS_URL),
        redis_prefix=f"glearned{uuid.uuid4().hex[:8]}",
    )
    yield built
    assert built.projector is not None
    await built.projector.boards.clear()
    await built.projector.boards.redis.aclose()


def test_only_earned_entries_and_their_reversals_count() -> None:
    for kind in (EntryKind.INSPECTION, EntryKind.DROPOFF, EntryKind.WEIGHIN, EntryKind.SHIFT):
        assert counts_as_earned(kind)
        assert counts_as_earned(EntryKind.REVERSAL, kind)
    for kind in (EntryKind.ADJUSTMENT, EntryKind.REDEMPTION, EntryKind.EXPIRY):
        assert not counts_as_earned(kind)
        assert not counts_as_earned(EntryKind.REVERSAL, kind)
    assert not counts_as_earned(EntryKind.REVERSAL, None)


async def _ranks(services: Services, compound_id: int, day: date) -> dict[str, list[tuple]]:
    """The month's households board from Redis and from SQL: (household id, rank, points)."""
    assert services.projector is not None
    await services.sealer.seal_all()
    await services.projector.catch_up()
    answers = {}
    for source, boards in (("redis", services.boards), ("sql", Boards(None))):
        body = await boards.leaderboard(Board.HOUSEHOLDS, Period.MONTH, compound_id, 10, day)
        assert body.source == source
        answers[source] = [(int(i.id), i.rank, i.value) for i in body.items]
    return answers


async def test_an_adjustment_never_moves_a_rank_and_a_reversed_grading_does(
    with_redis: Services, clock: FrozenClock
) -> None:
    services = with_redis
    clock.moment = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    day = local_day(clock.now())
    world = await make_world(services)
    point = await services.registry.create_point(SYSTEM, event_id(), world.compound_id, "1号点", [])
    inspector = await make_user(
        services, Role.INSPECTOR, compound_ids=frozenset({world.compound_id})
    )
    second = await make_household(services, world.compound_id, building="5")
    graded = {}
    for token, grade in ((world.card_token, Grade.GOOD), (second.card_token, Grade.FAIR)):
        graded[token] = await services.gradings.inspect(
            inspector, Grading(event_id(), token, point.token, Stream.KITCHEN, grade, [], None)
        )
    first_id, second_id = world.household_id, second.id
    before = await _ranks(services, world.compound_id, day)
    assert before["redis"] == before["sql"] == [(first_id, 1, 10), (second_id, 2, 5)]

    # A carry-over of 300 points from the paper book and a debit adjustment: balances move,
    # the board does not.
    await services.accounts.adjust(SYSTEM, event_id(), second.account_id, 300, "纸质积分本结转")
    adjusted = await services.accounts.adjust(SYSTEM, event_id(), world.account_id, -3, "多记了")
    assert await _ranks(services, world.compound_id, day) == before
    # Reversing an adjustment is a correction that earned nothing either.
    await services.accounts.reverse(SYSTEM, event_id(), adjusted.entry_id, "撤销调整")
    assert await _ranks(services, world.compound_id, day) == before

    # Reversing the first household's grading takes its points off: it falls behind.
    entry_id = graded[world.card_token].entry_id
    await services.accounts.reverse(SYSTEM, event_id(), entry_id, "评错了")
    after = await _ranks(services, world.compound_id, day)
    assert after["redis"] == after["sql"] == [(second_id, 1, 5), (first_id, 2, 0)]
    assert services.projector is not None
    assert await differences(services.projector.boards, day) == []


async def _month(services: Services, compound_id: int, day: date) -> list[tuple[int, int]]:
    body = await services.boards.leaderboard(Board.HOUSEHOLDS, Period.MONTH, compound_id, 10, day)
    assert body.source == "redis"
    return [(int(i.id), i.value) for i in body.items]
