"""The board page read from Redis without the whole set, and what the read path keeps.

A page comes from the top of the sorted set plus the tie at its cut (ledger/projections/
boards.py, _TOP): it must rank exactly as ranking() over every member. Labels are read with
each page (piccolo-admin may edit a household's building, unit and room), so an edit shows at
once; only compound → community is kept, and a compound that did not exist yet is looked up
again.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import NotFound
from ledger.domain.leaderboard import Board, Period, ranking
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Stream
from ledger.projections.boards import RedisBoards
from ledger.services.boards import Boards
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.store.tables import Household
from tests.conftest import REDIS_URL
from tests.factories import FrozenClock, event_id, make_household, make_user, make_world

pytestmark = pytest.mark.redis
KEY = "gltest:{c1}:hh:1:month:2026-11"


def _members(rng: random.Random, count: int, names: str) -> dict[str, int]:
    """Scores with many ties; ids as households have them, or building names of any kind."""
    members: dict[str, int] = {}
    while len(members) < count:
        if names == "ids":
            name = str(rng.choice([rng.randint(1, 9), rng.randint(1, 200), rng.randint(1, 10**6)]))
        else:
            name = rng.choice(
                [str(rng.randint(0, 120)), f"0{rng.randint(0, 20)}", f"{rng.randint(1, 9)}A", "B"]
            )
        members[name] = rng.choice([rng.randint(-3, 3) * 10, 10, 10, 20, rng.randint(-50, 50)])
    return members


@pytest.mark.parametrize("names", ["ids", "any"])
async def test_the_top_of_a_sorted_set_ranks_as_the_whole_set(redis: Redis, names: str) -> None:
    boards = RedisBoards(redis, "gltest")
    rng = random.Random(f"top-{names}")
    for _ in range(40):
        await redis.delete(KEY)
        members = _members(rng, rng.randint(1, 60), names)
        await redis.zadd(KEY, {name: score for name, score in members.items()})
        for limit in range(1, len(members) + 3):
            for positive_only in (False, True):
                whole = {m: v for m, v in members.items() if v > 0 or not positive_only}
                _, top = await boards.cursor_and_top(KEY, limit, positive_only)
                assert set(top) <= set(whole)
                assert all(whole[m] == v for m, v in top.items())
                assert ranking(top, limit) == ranking(whole, limit), (members, limit)


async def test_a_large_tie_sends_only_what_the_page_needs(redis: Redis) -> None:
    boards = RedisBoards(redis, "gltest")
    await redis.zadd(KEY, {str(n): 10 for n in range(1, 501)} | {"7000": 20})
    await redis.set("gltest:projector:cursor", 42)
    cursor, top = await boards.cursor_and_top(KEY, 10)
    assert cursor == 42
    assert top == {"7000": 20} | {str(n): 10 for n in range(1, 10)}


async def test_the_script_is_loaded_again_after_redis_forgets_it(redis: Redis) -> None:
    boards = RedisBoards(redis, "gltest")
    await redis.zadd(KEY, {"1": 5, "2": 7})
    assert (await boards.cursor_and_top(KEY, 1))[1] == {"2": 7}
    await redis.script_flush()
    assert (await boards.cursor_and_top(KEY, 5)) == (0, {"1": 5, "2": 7})


@pytest.fixture
async def with_redis(services: Services, redis: Redis) -> AsyncIterator[Services]:
    built = Services.build(
        services.codes.keyring,
        "http://testserver",
        clock=services.clock,
        redis=Redis.from_url(REDIS_URL),
        redis_prefix="gltest",
    )
    yield built
    assert built.projector is not None
    await built.projector.boards.redis.aclose()


async def test_an_edited_address_shows_on_the_next_page_and_a_new_compound_is_found(
    with_redis: Services, clock: FrozenClock
) -> None:
    services = with_redis
    clock.moment = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    world = await make_world(services)
    day = local_day(clock.now())
    args = (Board.HOUSEHOLDS, Period.MONTH, world.compound_id, 10, day)
    point = await services.registry.create_point(SYSTEM, event_id(), world.compound_id, "1号点", [])
    inspector = await make_user(
        services, Role.INSPECTOR, compound_ids=frozenset({world.compound_id})
    )
    await services.gradings.inspect(
        inspector,
        Grading(event_id(), world.card_token, point.token, Stream.KITCHEN, Grade.GOOD, [], None),
    )
    await services.sealer.seal_all()
    assert services.projector is not None
    await services.projector.catch_up()
    before = await services.boards.leaderboard(*args)
    assert before.source == "redis"
    assert before == replace(await Boards(None).leaderboard(*args), source="redis")

    # What piccolo-admin does when staff correct an address (building, unit, room editable).
    await Household.update({Household.building: "9", Household.room: "2208"}).where(
        Household.id == world.household_id
    )
    after = await services.boards.leaderboard(*args)
    assert after.items[0].label != before.items[0].label
    assert after.items[0].label.startswith("9幢")
    assert after == replace(await Boards(None).leaderboard(*args), source="redis")

    # A compound looked up before it existed is found once it does (misses are not kept).
    missing = world.compound_id + 1
    with pytest.raises(NotFound):
        await services.boards.leaderboard(Board.HOUSEHOLDS, Period.MONTH, missing, 10, day)
    created = await services.registry.create_compound(
        SYSTEM, event_id(), world.community_id, "新苑"
    )
    assert created.id == missing
    await make_household(services, missing)
    board = await services.boards.leaderboard(Board.HOUSEHOLDS, Period.MONTH, missing, 10, day)
    assert board.items == []
