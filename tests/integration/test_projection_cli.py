"""`greenledger check-projections` and `greenledger rebuild-projections` on the test database.

The CLI runs its own event loop (asyncio.run), so it is called in a thread; on PostgreSQL it
opens its own pool on the shared engine, so the workload is written on a pool of this test's
that is closed again first (as in the API tests).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from redis.asyncio import Redis

from api import cli
from api.settings import Settings
from ledger.domain.leaderboard import Keys, Period, bucket
from ledger.projections.limits import limit_key
from ledger.services.container import Services
from ledger.store.engine import current_engine, is_sqlite
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.factories import TEST_SECRET_KEY, FrozenClock
from tests.integration.board_workload import HANGZHOU as ZONE
from tests.integration.board_workload import BoardSite, at_local, make_board_site, step

pytestmark = pytest.mark.redis

DAY = date(2026, 11, 25)
DAY_TEXT = DAY.isoformat()


@dataclass
class Projected:
    site: BoardSite
    prefix: str
    redis: Redis


@pytest.fixture
async def projected(
    fresh_db: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Projected]:
    prefix = f"glcli{random.randrange(10**9)}"
    client = Redis.from_url(REDIS_URL)
    clock = FrozenClock(at_local(datetime(2026, 11, 25, 9, tzinfo=ZONE)))
    services = Services.build(
        settings.keyring(), settings.base_url, clock=clock, redis=client, redis_prefix=prefix
    )
    await services.db.start()
    try:
        rng = random.Random(23)
        site = await make_board_site(services, rng, compounds=2, households=5, volunteers=2)
        for op in ["inspect", "inspect", "weighin", "shift", "backfill", "adjust", "dropoff"] * 3:
            await step(services, site, clock, op, rng)
        assert services.projector is not None
        await services.sealer.seal_all()
        await services.projector.catch_up()
    finally:
        await services.db.close()
    url = str(current_engine().path) if is_sqlite() else DATABASE_URL  # type: ignore[attr-defined]
    monkeypatch.setenv("GREENLEDGER_DATABASE_URL", url)
    monkeypatch.setenv("GREENLEDGER_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("GREENLEDGER_REDIS_PREFIX", prefix)
    monkeypatch.setenv("GREENLEDGER_SECRET_KEY", TEST_SECRET_KEY)
    yield Projected(site, prefix, client)
    async for key in client.scan_iter(match=f"{prefix}:*"):
        await client.delete(key)
    await client.aclose()


async def greenledger(*argv: str) -> int:
    return await asyncio.to_thread(cli.main, list(argv))


async def test_check_projections_exits_0_when_redis_equals_sql(
    projected: Projected, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await greenledger("check-projections", "--day", DAY_TEXT) == 0
    out = capsys.readouterr().out
    assert "boards in Redis equal SQL" in out
    assert "DIFF" not in out
    assert await greenledger("check-projections") == 0  # today, whatever day that is


async def test_check_projections_exits_1_with_a_diff_line_for_a_corrupted_key(
    projected: Projected, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = Keys(projected.prefix, projected.site.community_id)
    compound_id = projected.site.compound_ids[0]
    key = keys.households(compound_id, Period.DAY, DAY_TEXT)
    members = await projected.redis.zrange(key, 0, -1, withscores=True)
    assert members, "the workload put households on today's board"
    member, score = members[0]
    await projected.redis.zincrby(key, 5, member)
    assert await greenledger("check-projections", "--day", DAY_TEXT) == 1
    out = capsys.readouterr().out
    expected = (
        f"DIFF households {DAY_TEXT} scope {compound_id}: {member.decode()} is "
        f"{int(score) + 5} in Redis, {int(score)} in SQL"
    )
    assert expected in out.splitlines()
    assert "1 boards differ" in out

    # A whole key lost, and a member that SQL does not know: both reported.
    await projected.redis.delete(keys.grades(Period.MONTH, "2026-11"))
    await projected.redis.zadd(keys.volunteers(Period.YEAR, "2026"), {"999999": 60})
    assert await greenledger("check-projections", "--day", DAY_TEXT) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("DIFF")]
    assert any(line.startswith("DIFF compounds_accuracy 2026-11 ") for line in lines)
    phantom = (
        f"DIFF volunteers_hours 2026 scope {projected.site.community_id}: "
        "999999 is 60 in Redis, None in SQL"
    )
    assert phantom in lines
    assert len(lines) == 3


async def test_check_projections_sees_counts_that_differ_behind_an_equal_share(
    projected: Projected, capsys: pytest.CaptureFixture[str]
) -> None:
    """3 good of 4 and 6 good of 8 are the same 75%, but not the same board."""
    keys = Keys(projected.prefix, projected.site.community_id)
    key = keys.grades(Period.DAY, DAY_TEXT)
    fields = {k.decode(): int(v) for k, v in (await projected.redis.hgetall(key)).items()}
    compound = next(f.split(":")[0] for f in fields if f.endswith(":graded"))
    for name in ("graded", "good"):
        field = f"{compound}:{name}"
        await projected.redis.hincrby(key, field, fields.get(field, 0))  # doubled
    assert await greenledger("check-projections", "--day", DAY_TEXT) == 1
    graded, good = fields[f"{compound}:graded"], fields.get(f"{compound}:good", 0)
    expected = (
        f"DIFF compounds_accuracy {DAY_TEXT} scope {projected.site.community_id}: "
        f"{compound} is {2 * good}/{2 * graded} in Redis, {good}/{graded} in SQL"
    )
    assert expected in capsys.readouterr().out.splitlines()


async def test_rebuild_projections_restores_equality(
    projected: Projected, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = Keys(projected.prefix, projected.site.community_id)
    for period in Period:
        await projected.redis.delete(keys.volunteers(period, bucket(period, DAY)))
    await projected.redis.hincrby(keys.grades(Period.DAY, DAY_TEXT), "12345:graded", 3)
    counter = limit_key(projected.prefix, "addr:203.0.113.9")
    await projected.redis.set(counter, 5)
    assert await greenledger("check-projections", "--day", DAY_TEXT) == 1
    capsys.readouterr()

    assert await greenledger("rebuild-projections") == 0
    assert "rebuilt the boards from" in capsys.readouterr().out
    assert await greenledger("check-projections", "--day", DAY_TEXT) == 0
    # Rate-limit counters and sign-in lockouts share the prefix; a rebuild leaves them alone.
    assert await projected.redis.get(counter) == b"5"


async def test_without_a_redis_url_both_commands_say_so_and_exit_2(
    projected: Projected, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GREENLEDGER_REDIS_URL")
    assert await greenledger("check-projections") == 2
    assert "no GREENLEDGER_REDIS_URL" in capsys.readouterr().err
    assert await greenledger("rebuild-projections") == 2
    assert "no GREENLEDGER_REDIS_URL" in capsys.readouterr().err
