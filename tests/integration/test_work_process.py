"""`greenledger work` and `serve --no-background` (issue 17, item 5): the sealer and the
projector in a process of their own, API processes without them.

The API side is checked by the tasks its lifespan starts (named); the work side by a real
`greenledger work` process that seals what was written and moves the boards' cursor in Redis,
then stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from redis.asyncio import Redis

from api import cli
from api.app import NOTICE_TASK, PROJECTOR_TASK, SEALER_TASK, create_app
from api.settings import ConfigError, Settings
from ledger.domain.rules import Grade, Stream
from ledger.projections.boards import RedisBoards
from ledger.services.container import Services
from ledger.store.engine import current_engine, is_sqlite
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.factories import TEST_SECRET_KEY, FrozenClock, make_household
from tests.integration.earning_helpers import grade, hangzhou, make_site

ROOT = Path(__file__).resolve().parents[2]
LOOPS = {SEALER_TASK, NOTICE_TASK, PROJECTOR_TASK}
WAIT_SECONDS = 60


def loops_running() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks()} & LOOPS


@pytest.mark.redis
async def test_api_processes_run_the_loops_unless_told_not_to(
    fresh_db: None, settings: Settings
) -> None:
    with_redis = dataclasses.replace(settings, redis_url=REDIS_URL, redis_prefix="glworkapi")
    for run_loops, expected in ((True, LOOPS), (False, set())):
        app = create_app(dataclasses.replace(with_redis, run_sealer=run_loops))
        async with app.lifespan():  # start-up and shutdown, on this loop
            assert loops_running() == expected
        assert loops_running() == set()


def test_background_is_read_from_the_environment() -> None:
    env = {"GREENLEDGER_SECRET_KEY": TEST_SECRET_KEY}
    assert Settings.from_env(env).run_sealer is True  # `make run`: as before
    assert Settings.from_env(env | {"GREENLEDGER_BACKGROUND": "off"}).run_sealer is False
    assert Settings.from_env(env | {"GREENLEDGER_BACKGROUND": "ON"}).run_sealer is True
    with pytest.raises(ConfigError, match="BACKGROUND must be on or off"):
        Settings.from_env(env | {"GREENLEDGER_BACKGROUND": "no"})


def test_serve_no_background_tells_the_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("GREENLEDGER_DATABASE_URL", str(tmp_path / "serve.sqlite"))
    monkeypatch.delenv("GREENLEDGER_BACKGROUND", raising=False)
    assert cli.main(["serve"]) == 0
    assert "GREENLEDGER_BACKGROUND" not in os.environ
    assert cli.main(["serve", "--no-background"]) == 0
    assert os.environ["GREENLEDGER_BACKGROUND"] == "off"  # what each worker's create_app reads
    assert Settings.from_env().run_sealer is False


def work_process(prefix: str) -> subprocess.Popen[str]:
    database = str(current_engine().path) if is_sqlite() else DATABASE_URL  # type: ignore[attr-defined]
    env = {
        **os.environ,
        "GREENLEDGER_DATABASE_URL": database,
        "GREENLEDGER_SECRET_KEY": TEST_SECRET_KEY,
        "GREENLEDGER_REDIS_URL": REDIS_URL,
        "GREENLEDGER_REDIS_PREFIX": prefix,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "work"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


async def until(check: Any, what: str) -> None:
    for _ in range(WAIT_SECONDS * 10):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {WAIT_SECONDS} s")


@pytest.mark.redis
async def test_work_seals_and_projects_then_stops_on_sigterm(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 8)
    site = await make_site(services)
    cards = [site.world.card_token]
    for _ in range(3):
        cards.append((await make_household(services, site.world.compound_id)).card_token)
    for card in cards:
        await grade(services, site, Stream.KITCHEN, Grade.GOOD, card=card)
    assert (await services.verifier.verify()).pending_seal >= len(cards)  # nobody sealed yet

    prefix = f"glwork{random.randrange(10**9)}"
    redis = Redis.from_url(REDIS_URL)
    boards = RedisBoards(redis, prefix)
    process = await asyncio.to_thread(work_process, prefix)
    try:

        async def sealed() -> bool:
            return bool((await services.verifier.verify()).pending_seal == 0)

        async def projected() -> bool:
            return await boards.cursor() >= len(cards)

        await until(sealed, "greenledger work seals the entries")
        await until(projected, "greenledger work applies the board facts")
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(process.communicate, timeout=30)
        assert process.returncode == 0, output
        assert f"working: {SEALER_TASK}, {NOTICE_TASK}, {PROJECTOR_TASK}" in output
        assert "stopped" in output
        assert "Traceback" not in output
        assert (await services.verifier.verify()).ok
    finally:
        if process.poll() is None:
            process.kill()
            await asyncio.to_thread(process.wait)
        async for key in redis.scan_iter(match=f"{prefix}:*"):
            await redis.delete(key)
        await redis.aclose()
