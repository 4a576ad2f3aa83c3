"""The demo's history: past days written through the services, each sealed on its own day.

A small subdistrict and a few days, on both engines: every day has entries, each sealed on
the local day it was written; `verify` is clean; the counter's redemptions took stock; and
two seeds into fresh databases come out alike.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from piccolo.engine.sqlite import SQLiteEngine
from redis.asyncio import Redis

from api.settings import Settings
from ledger.domain.errors import InvalidInput
from ledger.domain.leaderboard import Board, Period
from ledger.domain.localtime import local_day
from ledger.ports import SystemClock
from ledger.services.boards import differences
from ledger.services.container import Services
from ledger.services.demo import REWARDS, seed_demo
from ledger.store.engine import current_engine
from ledger.store.tables import (
    Account,
    Entry,
    EntrySeal,
    Inspection,
    Payment,
    Redemption,
    Reward,
    Shift,
)
from tests.conftest import DATABASE_URL, EMPTY_TABLES, REDIS_URL
from tests.factories import FrozenClock

PASSWORD = "demo-pass-for-tests"
HOUSEHOLDS = 600
DAYS = 3


async def seeded(services: Services) -> str:
    return await seed_demo(services, households=HOUSEHOLDS, password=PASSWORD, days=DAYS)


def past_days(clock: FrozenClock) -> list[date]:
    today = local_day(clock.now())
    return [today - timedelta(days=n) for n in range(DAYS, 0, -1)]


async def test_each_past_day_has_entries_sealed_on_that_day(
    services: Services, clock: FrozenClock
) -> None:
    before = clock.now()
    summary = await seeded(services)
    assert clock.now() == before, "the seed sets the clock back"
    assert f"The last {DAYS} days" in summary
    entries = await Entry.select(Entry.id, Entry.created_at, Entry.captured_at)
    seals = {s["entry_id"]: s["sealed_at"] for s in await EntrySeal.select()}
    days = Counter(local_day(e["created_at"]) for e in entries)
    assert sorted(days) == past_days(clock), "entries on each past day, none today"
    assert all(local_day(seals[e["id"]]) == local_day(e["created_at"]) for e in entries)
    captured = [e["captured_at"] for e in entries if e["captured_at"] is not None]
    assert captured
    assert {local_day(moment) for moment in captured} <= set(past_days(clock))
    for table in (Inspection, Shift):
        rows = await table.select(table.local_day)
        assert {row["local_day"] for row in rows} == set(past_days(clock)), table
    report = await services.verifier.verify()
    assert report.ok, report
    assert report.pending_seal == 0


async def test_balances_equal_the_entries_and_redemptions_took_stock(
    services: Services,
) -> None:
    await seeded(services)
    folded: Counter[int] = Counter()
    for entry in await Entry.select(
        Entry.debit_account_id, Entry.credit_account_id, Entry.amount_points
    ):
        folded[entry["credit_account_id"]] += entry["amount_points"]
        folded[entry["debit_account_id"]] -= entry["amount_points"]
    accounts = await Account.select(Account.id, Account.balance_points)
    assert {a["id"]: a["balance_points"] for a in accounts if a["balance_points"]} == {
        account: points for account, points in folded.items() if points
    }
    redemptions = await Redemption.select(Redemption.reward, Redemption.quantity)
    assert redemptions, "the counter was busy"
    taken = Counter[int]()
    for redemption in redemptions:
        taken[redemption["reward"]] += redemption["quantity"]
    stock = {name: units for name, _, units, _ in REWARDS}
    for reward in await Reward.select(Reward.id, Reward.name, Reward.stock):
        assert reward["stock"] == stock[reward["name"]] - taken[reward["id"]], reward
    assert await Payment.count() > 0


async def totals() -> dict[str, Any]:
    """What two alike seeds must agree on."""
    by_kind: Counter[str] = Counter()
    for entry in await Entry.select(Entry.kind, Entry.amount_points):
        by_kind[entry["kind"]] += entry["amount_points"]
    grades = Counter(row["grade"] for row in await Inspection.select(Inspection.grade))
    return {
        "entries": await Entry.count(),
        "points by kind": dict(by_kind),
        "grades": dict(grades),
        "shifts": await Shift.count(),
        "redemptions": await Redemption.count(),
        "payments": await Payment.count(),
        "stock": [r["stock"] for r in await Reward.select(Reward.stock).order_by(Reward.id)],
    }


async def test_two_seeds_into_fresh_databases_are_alike(
    services: Services, settings: Settings, clock: FrozenClock
) -> None:
    moment = clock.now()
    await seeded(services)
    first = await totals()
    await services.db.close()
    engine = current_engine()
    kept = getattr(engine, "path", None)
    path = Path(DATABASE_URL).with_name(f"history-{uuid.uuid4().hex[:10]}.sqlite")
    if isinstance(engine, SQLiteEngine):
        shutil.copyfile(DATABASE_URL, path)
        engine.path = str(path)
    else:
        await engine.run_ddl(EMPTY_TABLES)
    again = Services.build(settings.keyring(), settings.base_url, clock=FrozenClock(moment))
    await again.db.start()
    try:
        await seeded(again)
        second = await totals()
    finally:
        await again.db.close()
        if isinstance(engine, SQLiteEngine):
            engine.path = kept
            for suffix in ("", "-wal", "-shm"):
                await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)
        await services.db.start()
    assert first == second
    assert first["grades"]["good"] > first["grades"].get("poor", 0)


async def test_a_history_needs_a_clock_the_seed_can_move(
    fresh_db: None, settings: Settings
) -> None:
    services = Services.build(settings.keyring(), settings.base_url, clock=SystemClock())
    await services.db.start()
    try:
        with pytest.raises(InvalidInput, match="clock"):
            await seed_demo(services, households=10, password=PASSWORD, days=2)
    finally:
        await services.db.close()


@pytest.mark.redis
async def test_the_boards_are_projected_after_the_seed(
    services: Services, redis: Redis, clock: FrozenClock
) -> None:
    """Redis held boards of something else: the seed's rebuild makes them the ledger's."""
    with_redis = Services.build(
        services.codes.keyring,
        "http://testserver",
        clock=clock,
        redis=Redis.from_url(REDIS_URL),
        redis_prefix="gltest",
    )
    assert with_redis.projector is not None
    await with_redis.projector.boards.set_cursor(10**6)  # a stale cursor from another database
    try:
        await seed_demo(with_redis, households=HOUSEHOLDS, password=PASSWORD, days=2)
        yesterday = local_day(clock.now()) - timedelta(days=1)
        board = await with_redis.boards.leaderboard(
            Board.HOUSEHOLDS, Period.MONTH, 1, 10, yesterday
        )
        assert board.source == "redis"
        assert board.items
        assert await differences(with_redis.projector.boards, yesterday) == []
    finally:
        await with_redis.projector.boards.redis.aclose()
