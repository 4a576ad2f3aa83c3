"""Growth: does a balance read, a top-10 board or a credit cost more as history grows?

    python -m bench.growth --db bench_growth --fixture F --sizes 10000,1000000,10000000

One database grows in stages (bench/history.py bulk-loads the history in SQL). At each size,
one request at a time through the service layer (the database's cost, not the server's):

* credit: `Gradings.inspect` to a household with history, every reply checked;
* balance: `Accounts.account` (the GET /accounts/{id} handler's call) on history households,
  the balance must equal the sum of its `expiring` lots;
* board: the top-10 households of a compound for this month from Redis (the server's path);
* board_sql: the same board from SQL (the fallback when Redis is down), which must list the
  same households and points as Redis.

The live credits are sealed and projected (sealer, projector) before the boards are read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    REDIS_PREFIX,
    STREAMS,
    Outcome,
    configure_in_process,
    log,
    pg_url,
    run_and_write,
    run_timed,
)
from bench.history import HISTORY_HOUSEHOLDS, grow_to

if TYPE_CHECKING:
    from ledger.services.boards import Leaderboard

GROWTH_PREFIX = f"{REDIS_PREFIX}-growth"
BOARD_HOUSEHOLDS = 400


async def measure(
    services: Any, fixture: dict[str, Any], stage: int, args: argparse.Namespace
) -> dict[str, Any]:
    from ledger.domain.access import Principal, Role
    from ledger.domain.leaderboard import Board, Period
    from ledger.domain.localtime import local_day
    from ledger.domain.rules import Grade, Stream
    from ledger.services.boards import Boards
    from ledger.services.grading import Grading

    compounds = frozenset(fixture["compounds"])
    inspector = Principal(
        fixture["inspector"]["id"],
        fixture["inspector"]["username"],
        Role.INSPECTOR,
        compound_ids=compounds,
    )
    clerk = Principal(
        fixture["clerk"]["id"], fixture["clerk"]["username"], Role.CLERK, compound_ids=compounds
    )
    history = fixture["households"][:HISTORY_HOUSEHOLDS]
    board_compound = fixture["households"][0][2]
    on_board = [h for h in history if h[2] == board_compound][:BOARD_HOUSEHOLDS]
    point_token = fixture["points"][str(board_compound)][1]
    run = uuid.uuid4().hex[:6]
    rng = random.Random(stage)  # noqa: S311 (which account to read, not a secret)
    sql_boards = Boards(None)
    out: dict[str, Any] = {}

    async def credit(index: int) -> Outcome:
        household = on_board[index % len(on_board)]
        result = await services.gradings.inspect(
            inspector,
            Grading(
                f"grow-{run}-{index}",
                household[3],
                point_token,
                Stream(STREAMS[stage % len(STREAMS)]),
                Grade.GOOD,
                [],
                None,
            ),
        )
        if result.points_awarded != 10 or not isinstance(result.entry_id, int):
            return 0, f"credit: {result}"
        return 1, None

    blocks = await _blocks(args.db)
    tally, wall = await run_timed(
        credit, concurrency=1, warmup_s=0.3, duration_s=60, max_ops=len(on_board)
    )
    out["credit"] = tally.summary(wall) | _per_op(blocks, await _blocks(args.db), tally.issued)
    started = time.perf_counter()
    await services.sealer.seal_all()
    await services.projector.catch_up()
    out["seal_and_project_s"] = round(time.perf_counter() - started, 2)

    async def balance(index: int) -> Outcome:
        account_id = rng.choice(history)[1]
        result = await services.accounts.account(clerk, account_id)
        lots = sum(item.points for item in result.expiring)
        if result.balance_points != lots:
            return 0, f"balance: {result.balance_points} but lots hold {lots}"
        return 1, None

    blocks = await _blocks(args.db)
    tally, wall = await run_timed(
        balance, concurrency=1, warmup_s=0.3, duration_s=args.read_seconds, max_timed=args.reads
    )
    out["balance"] = tally.summary(wall) | _per_op(blocks, await _blocks(args.db), tally.issued)
    today = local_day(services.clock.now())
    expected: list[Any] = []

    async def board(index: int) -> Outcome:
        result = await services.boards.leaderboard(
            Board.HOUSEHOLDS, Period.MONTH, board_compound, 10, today
        )
        return _check_board(result, "redis", expected)

    tally, wall = await run_timed(
        board, concurrency=1, warmup_s=0.3, duration_s=args.read_seconds, max_timed=args.reads
    )
    out["board"] = tally.summary(wall)

    async def board_sql(index: int) -> Outcome:
        result = await sql_boards.leaderboard(
            Board.HOUSEHOLDS, Period.MONTH, board_compound, 10, today
        )
        return _check_board(result, "sql", expected)

    tally, wall = await run_timed(
        board_sql,
        concurrency=1,
        warmup_s=0,
        duration_s=args.read_seconds,
        max_timed=args.reads,
    )
    out["board_sql"] = tally.summary(wall)
    return out


async def _blocks(database: str) -> dict[str, int]:
    """Buffer hits and reads (reads missed shared_buffers) and WAL bytes so far: the first two
    per database; WAL is cluster-wide, so other work on the server adds to it."""
    import asyncpg

    await asyncio.sleep(1.5)  # backends flush their counters about once a second
    db = await asyncpg.connect(pg_url(database))
    try:
        row = await db.fetchrow(
            "SELECT blks_hit, blks_read, pg_current_wal_lsn() - '0/0'::pg_lsn AS wal"
            " FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await db.close()
    return {"hit": int(row["blks_hit"]), "read": int(row["blks_read"]), "wal": int(row["wal"])}


def _per_op(before: dict[str, int], after: dict[str, int], operations: int) -> dict[str, Any]:
    """Shared-buffer hits and misses and WAL bytes per operation (statistics lag ~0.5 s)."""
    if operations <= 0:
        return {}
    return {
        "buffer_hits_per_op": round((after["hit"] - before["hit"]) / operations, 1),
        "buffer_reads_per_op": round((after["read"] - before["read"]) / operations, 2),
        "wal_bytes_per_op": round((after["wal"] - before["wal"]) / operations),
    }


def _check_board(result: Leaderboard, source: str, expected: list[Any]) -> Outcome:
    items = [(item.id, item.value) for item in result.items]
    if result.source != source or len(items) != 10:
        return 0, f"board: {result.source} with {len(items)} items"
    if not expected:
        expected.extend(items)
    elif items != expected:
        return 0, f"board: {source} lists {items[:3]}..., Redis listed {expected[:3]}..."
    return 1, None


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg
    from redis.asyncio import Redis

    from api.settings import Settings
    from ledger.services.container import Services

    fixture = json.loads(args.fixture.read_text())
    settings = Settings.from_env()
    redis = Redis.from_url(settings.redis_url or "")
    async for key in redis.scan_iter(match=f"{GROWTH_PREFIX}:*", count=1000):
        await redis.delete(key)
    services = Services.build(
        settings.keyring(), settings.base_url, redis=redis, redis_prefix=settings.redis_prefix
    )
    pool = await asyncpg.create_pool(pg_url(args.db), min_size=1, max_size=4)
    assert pool is not None
    stages: list[dict[str, Any]] = []
    await services.db.start()
    try:
        for stage, size in enumerate(args.sizes):
            load = await grow_to(pool, size, stage, fixture["inspector"]["id"])
            log(f"growth: history at {int(load['entries_now']):,} entries ({load['total_s']} s)")
            result = await measure(services, fixture, stage, args)
            result |= {"target_entries": size, "entries": int(load["entries_now"]), "load": load}
            stages.append(result)
            log(
                "growth: "
                + ", ".join(f"{k} p50 {result[k]['p50_ms']} ms" for k in _MEASURES)
                + f" at {result['entries']:,} entries"
            )
        started = time.perf_counter()
        verified = await services.verifier.verify() if args.verify else None
        verify_s = time.perf_counter() - started
    finally:
        await services.db.close()
        await pool.close()
        await redis.aclose()
    summary: dict[str, Any] = {"stages": stages}
    verified_ok = True
    if verified is not None:
        checks = {c.name: c.ok for c in verified.checks}
        details = {c.name: c.detail for c in verified.checks}
        summary["verify"] = {"entries": verified.entries, "checks": checks, "details": details}
        summary["verify_s"] = round(verify_s, 1)
        # The bulk-loaded history is deliberately never sealed (sealing 10^7 entries one hash
        # at a time would take longer than the whole run), so only the chain check may fail,
        # and only for that reason.
        verified_ok = all(ok for name, ok in checks.items() if name != "hash_chain") and (
            checks.get("hash_chain", True) or "neither sealed nor pending" in details["hash_chain"]
        )
    summary["all_ok"] = verified_ok and all(
        stage[k]["all_ok"] for stage in stages for k in _MEASURES
    )
    return summary


_MEASURES = ("credit", "balance", "board", "board_sql")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--sizes", default="10000,1000000,10000000")
    parser.add_argument("--reads", type=int, default=1_000)
    parser.add_argument("--read-seconds", type=float, default=4.0)
    parser.add_argument("--no-verify", dest="verify", action="store_false")
    parser.add_argument("--out", default="growth")
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",")]
    configure_in_process(pg_url(args.db), redis=True, redis_prefix=GROWTH_PREFIX)
    result = run_and_write(args.out, main_async(args))
    log(f"growth: ok={result['all_ok']}")


if __name__ == "__main__":
    main()
