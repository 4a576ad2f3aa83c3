"""The board page read from Redis without the whole set, and what the read path keeps.

A page comes from the top of the sorted set plus the tie at its cut (ledger/projections/
boards.py, _TOP): it must rank exactly as ranking() over every member. Its labels come from the
projection in the same round trip: the projector writes them for every household and volunteer
a batch of facts names, and an edit (piccolo-admin may edit a household's building, unit and
room, or a volunteer's name) writes a label fact through a database trigger, so the edit shows
once the projector has reached it, as a score does. A label the projection does not hold yet is
read from SQL. Only compound → community is kept in the process, and a compound that did not
exist yet is looked up again.
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
from ledger.domain.leaderboard import Board, Op, Period, ranking
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Stream
from ledger.projections.boards import RedisBoards, Top
from ledger.services.boards import Boards, differences
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.store.tables import Household, Volunteer
from tests.conftest import REDIS_URL
from tests.factories import FrozenClock, World, event_id, make_household, make_user, make_world
from tests.integration.board_workload import make_board_site
from tests.integration.redis_process import RedisProcess

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
                top = (await boards.cursor_and_top(KEY, limit, positive_only)).scores
                assert set(top) <= set(whole)
                assert all(whole[m] == v for m, v in top.items())
                assert ranking(top, limit) == ranking(whole, limit), (members, limit)


async def test_a_large_tie_sends_only_what_the_page_needs(redis: Redis) -> None:
    boards = RedisBoards(redis, "gltest")
    await redis.zadd(KEY, {str(n): 10 for n in range(1, 501)} | {"7000": 20})
    await redis.set("gltest:projector:cursor", 42)
    top = await boards.cursor_and_top(KEY, 10)
    assert top.cursor == 42
    assert top.scores == {"7000": 20} | {str(n): 10 for n in range(1, 10)}


async def test_ops_reach_redis_as_made_whatever_their_text(redis: Redis) -> None:
    """The ops travel as one JSON argument (boards.py, _APPLY): building names and labels are
    free text, amounts are signed, sequence numbers large; each lands as it was made, and a
    batch sent again changes nothing."""
    boards = RedisBoards(redis, "gltest")
    keys = boards.keys(1)
    texts = ['3"幢', "a\\b", "line\nbreak", "🌱 东园", "{}[],:", "", "null", "1e3"]
    seq = 2**40
    ops = [Op("z", f"{keys.tag}:z", text, -7 + n, seq + n) for n, text in enumerate(texts)]
    ops += [Op("h", f"{keys.tag}:h", text, 3, seq + 20) for text in texts]
    ops += [Op("s", f"{keys.tag}:s", text, 1, seq + 21) for text in texts]
    ops += [
        Op("l", keys.household_labels(), str(n), text, seq + 22) for n, text in enumerate(texts)
    ]
    for _ in range(2):
        assert await boards.apply(1, ops, seq + 30) == seq + 30
        assert await boards.sorted_set(f"{keys.tag}:z") == {
            text: -7 + n for n, text in enumerate(texts)
        }
        assert await boards.hash(f"{keys.tag}:h") == dict.fromkeys(texts, 3)
        assert await redis.smembers(f"{keys.tag}:s") == {text.encode() for text in texts}
        assert await boards.labels(keys.household_labels()) == dict(
            (str(n), text) for n, text in enumerate(texts)
        )
    assert await boards.apply(1, [], seq + 40) == seq + 40
    assert await boards.watermark(1) == seq + 40  # stored as the integer, not as a float's text


async def test_the_script_is_loaded_again_after_redis_forgets_it() -> None:
    """On a redis-server of its own: SCRIPT FLUSH reaches every client of a server."""
    server = RedisProcess()
    server.start()
    redis = Redis.from_url(server.url)
    try:
        boards = RedisBoards(redis, "gltest")
        await redis.zadd(KEY, {"1": 5, "2": 7})
        assert (await boards.cursor_and_top(KEY, 1)).scores == {"2": 7}
        await redis.script_flush()
        assert (await boards.cursor_and_top(KEY, 5)) == Top(0, {"1": 5, "2": 7}, {})
    finally:
        await redis.aclose()
        server.stop()


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


async def _graded_and_projected(services: Services, world: World) -> None:
    """The world's household graded good once, sealed and projected."""
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


async def test_an_edited_address_shows_on_the_next_page_and_a_new_compound_is_found(
    with_redis: Services, clock: FrozenClock
) -> None:
    services = with_redis
    clock.moment = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    world = await make_world(services)
    day = local_day(clock.now())
    args = (Board.HOUSEHOLDS, Period.MONTH, world.compound_id, 10, day)
    await _graded_and_projected(services, world)
    assert services.projector is not None
    before = await services.boards.leaderboard(*args)
    assert before.source == "redis"
    assert before == replace(await Boards(None).leaderboard(*args), source="redis")

    # What piccolo-admin does when staff correct an address (building, unit, room editable).
    await Household.update({Household.building: "9", Household.room: "2208"}).where(
        Household.id == world.household_id
    )
    assert await services.boards.leaderboard(*args) == before  # the projection is not there yet
    await services.sealer.seal_all()
    await services.projector.catch_up()
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


async def test_a_label_the_projection_does_not_hold_yet_is_read_from_sql(
    with_redis: Services, clock: FrozenClock, redis: Redis
) -> None:
    """Boards projected before labels were (or a label key lost): the page is the same."""
    services = with_redis
    clock.moment = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    world = await make_world(services)
    args = (Board.HOUSEHOLDS, Period.MONTH, world.compound_id, 10, local_day(clock.now()))
    await _graded_and_projected(services, world)
    assert services.projector is not None
    labels = services.projector.boards.keys(world.community_id).household_labels()
    assert await redis.hget(labels, str(world.household_id))  # written with the score
    truth = replace(await Boards(None).leaderboard(*args), source="redis")
    assert await services.boards.leaderboard(*args) == truth
    await redis.delete(labels)
    assert await services.boards.leaderboard(*args) == truth


async def test_a_label_left_stale_in_redis_is_a_difference(
    with_redis: Services, clock: FrozenClock, redis: Redis
) -> None:
    services = with_redis
    clock.moment = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    world = await make_world(services)
    await _graded_and_projected(services, world)
    assert services.projector is not None
    boards = services.projector.boards
    day = local_day(clock.now())
    assert await differences(boards, day) == []
    labels = boards.keys(world.community_id).household_labels()
    page = await Boards(None).leaderboard(Board.HOUSEHOLDS, Period.DAY, world.compound_id, 1, day)
    await redis.hset(labels, str(world.household_id), "0幢0单元***室")
    assert await differences(boards, day) == [
        f"households label of {world.household_id} is '0幢0单元***室' in Redis, "
        f"{page.items[0].label!r} in SQL"
    ]


async def test_an_edited_volunteer_name_shows_once_projected(
    with_redis: Services, clock: FrozenClock
) -> None:
    services = with_redis
    clock.moment = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    site = await make_board_site(services, random.Random(3), compounds=1, households=1)
    volunteer = site.volunteers[0]
    await services.shifts.backfill(
        site.coordinator,
        event_id("fill"),
        volunteer_id=volunteer.id,
        compound_id=site.compound_ids[0],
        day=local_day(clock.now()),
        minutes=90,
        note="纸质签到表",
    )
    await services.sealer.seal_all()
    assert services.projector is not None
    await services.projector.catch_up()
    args = (Board.VOLUNTEERS_HOURS, Period.MONTH, site.community_id, 10, local_day(clock.now()))
    before = await services.boards.leaderboard(*args)
    assert before.source == "redis"
    mine = next(i for i in before.items if i.id == str(volunteer.id))

    await Volunteer.update({Volunteer.name: "郑小明"}).where(Volunteer.id == volunteer.id)
    await services.sealer.seal_all()
    await services.projector.catch_up()
    after = await services.boards.leaderboard(*args)
    assert next(i for i in after.items if i.id == str(volunteer.id)).label == "郑**" != mine.label
    assert after == replace(await Boards(None).leaderboard(*args), source="redis")
    assert await differences(services.projector.boards, local_day(clock.now())) == []
