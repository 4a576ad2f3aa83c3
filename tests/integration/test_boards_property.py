"""Property: after any workload, every board in Redis equals the SQL answer.

Each Hypothesis example starts from an empty database (a fresh copy of the migrated SQLite
file, or TRUNCATE on PostgreSQL, as the `fresh_db` fixture does per test) and projects into a
Redis key prefix of its own, so examples are independent and a failure shrinks to a small
workload.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from piccolo.engine.sqlite import SQLiteEngine
from redis.asyncio import Redis

from ledger.services import boards as boards_service
from ledger.services.boards import differences
from ledger.services.container import Services
from ledger.store.engine import current_engine
from tests.conftest import DATABASE_URL, EMPTY_TABLES, REDIS_URL
from tests.factories import FrozenClock
from tests.integration.board_workload import (
    EDGE_STARTS,
    OPS,
    assert_answers_equal,
    at_local,
    make_board_site,
    step,
)

pytestmark = pytest.mark.redis

_prefixes = itertools.count(1)

workloads = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 2**32 - 1)), min_size=15, max_size=60
)


@pytest.fixture
async def redis_client(redis: Redis) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def small_redblack(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two grades are enough to be ranked here, so random workloads reach the red/black list."""
    monkeypatch.setattr(boards_service, "REDBLACK_MIN_GRADED", 2)


@pytest.fixture
async def empty_database(services: Services) -> AsyncIterator[object]:
    """A callable that empties the database between examples; files it made are removed."""
    engine = current_engine()
    made: list[Path] = []
    original = getattr(engine, "path", None)

    async def empty() -> None:
        if isinstance(engine, SQLiteEngine):
            path = Path(DATABASE_URL).with_name(f"prop-{uuid.uuid4().hex[:10]}.sqlite")
            shutil.copyfile(DATABASE_URL, path)
            engine.path = str(path)
            made.append(path)
        else:
            await engine.run_ddl(EMPTY_TABLES)

    yield empty
    if isinstance(engine, SQLiteEngine):
        engine.path = original
        for path in made:
            for suffix in ("", "-wal", "-shm"):
                await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)


@settings(
    max_examples=int(os.environ.get("BOARDS_PROPERTY_EXAMPLES", "15")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    world_seed=st.integers(0, 2**32 - 1),
    start=st.sampled_from(EDGE_STARTS),
    ops=workloads,
    limit=st.sampled_from([1, 2, 3, 100]),
)
async def test_after_any_workload_redis_boards_equal_sql(
    services: Services,
    clock: FrozenClock,
    redis_client: Redis,
    small_redblack: None,
    empty_database: object,
    world_seed: int,
    start: datetime,
    ops: list[tuple[str, int]],
    limit: int,
) -> None:
    await empty_database()  # type: ignore[operator]
    prefix = f"glprop{next(_prefixes)}"
    projecting = Services.build(
        services.codes.keyring,
        "http://testserver",
        clock=clock,
        redis=redis_client,
        redis_prefix=prefix,
    )
    assert projecting.projector is not None
    boards = projecting.projector.boards
    await boards.clear()
    clock.moment = at_local(start)
    site = await make_board_site(projecting, random.Random(world_seed))
    for op, seed in ops:
        await step(projecting, site, clock, op, random.Random(seed))
    await projecting.sealer.seal_all()
    await projecting.projector.catch_up()
    for op in site.done:
        event(f"did {op}")
    for refusal in site.refused:
        event(f"refused {refusal}")
    event(
        f"{min(len(site.days), 5)}+ local days"
        if len(site.days) >= 5
        else f"{len(site.days)} local days"
    )

    days = sorted(site.days)
    for day in _around(days):
        assert await differences(boards, day) == [], day
    await assert_answers_equal(boards, site, _sample(days), limit=limit)

    # A rebuild from the ledger gives the same boards.
    await projecting.projector.rebuild()
    for day in _sample(days):
        assert await differences(boards, day) == [], day
    await boards.clear()


def _around(days: list[date]) -> list[date]:
    """The workload's days and the days just outside them."""
    return [days[0] - timedelta(days=1), *days, days[-1] + timedelta(days=1)]


def _sample(days: list[date]) -> list[date]:
    """The first, the last and one in between: each board answer is compared on these."""
    if len(days) <= 3:
        return days
    return [days[0], random.Random(len(days)).choice(days[1:-1]), days[-1]]
