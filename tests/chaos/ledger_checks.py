"""What the ledger holds after the load, read with plain SQL, and the CLI's own proofs."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from redis.asyncio import Redis

from tests.chaos.servers import cli

CURSOR_KEY = "gl:projector:cursor"  # RedisBoards: f"{prefix}:projector:cursor", prefix "gl"


async def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        return rows
    finally:
        await connection.close()


async def scalar(url: str, sql: str, *args: Any) -> Any:
    return (await query(url, sql, *args))[0][0]


async def entries_by_event(url: str, event_ids: Sequence[str]) -> dict[str, list[int]]:
    """Every entry's amount, by the event_id that wrote it (a list: there must be one)."""
    rows = await query(
        url,
        "SELECT event_id, amount_points FROM entry WHERE event_id = ANY($1::text[])",
        list(event_ids),
    )
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row["event_id"], []).append(int(row["amount_points"]))
    return found


async def stored_at(url: str, event_ids: Sequence[str]) -> dict[str, float]:
    """When each event's outcome was stored (idempotency_record.created_at, epoch seconds)."""
    rows = await query(
        url,
        "SELECT event_id, EXTRACT(EPOCH FROM created_at)::float8 AS at FROM idempotency_record"
        " WHERE event_id = ANY($1::text[])",
        list(event_ids),
    )
    return {row["event_id"]: float(row["at"]) for row in rows}


@dataclass
class Projection:
    unsealed: int
    unsequenced: int
    head: int
    cursor: int

    @property
    def caught_up(self) -> bool:
        return self.unsealed == 0 and self.unsequenced == 0 and self.cursor == self.head


async def projection_state(url: str, redis_url: str) -> Projection:
    rows = await query(
        url,
        "SELECT (SELECT COUNT(*) FROM entry_unsealed) AS unsealed,"
        " (SELECT COUNT(*) FROM board_fact WHERE seq IS NULL) AS unsequenced,"
        " (SELECT COALESCE(MAX(seq), 0) FROM board_fact) AS head",
    )
    redis = Redis.from_url(redis_url)
    try:
        cursor = int(await redis.get(CURSOR_KEY) or 0)
    finally:
        await redis.aclose()
    row = rows[0]
    return Projection(int(row["unsealed"]), int(row["unsequenced"]), int(row["head"]), cursor)


async def wait_for_projector(url: str, redis_url: str, seconds: float) -> tuple[float, Projection]:
    """The server's own sealer and projector catch up with every fact (no CLI helps them)."""
    started = time.monotonic()
    state = await projection_state(url, redis_url)
    while not state.caught_up and time.monotonic() - started < seconds:
        await asyncio.sleep(0.25)
        state = await projection_state(url, redis_url)
    return time.monotonic() - started, state


@dataclass
class Proof:
    ok: bool
    output: str


def verify(env: dict[str, str]) -> Proof:
    done = cli(env, "verify", "--seal")
    return Proof(done.returncode == 0, done.stdout + done.stderr)


def check_projections(env: dict[str, str]) -> Proof:
    done = cli(env, "check-projections")
    return Proof(done.returncode == 0, done.stdout + done.stderr)


def duplicates(found: dict[str, list[int]]) -> int:
    return sum(len(amounts) - 1 for amounts in found.values() if len(amounts) > 1)


def counted(values: Sequence[str]) -> dict[str, int]:
    return dict(Counter(values).most_common())
