"""Board facts: appended with each change, sequenced by the sealer, read by the projector."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from ledger.store import sql
from ledger.store.tables import BoardFact


async def record(
    community_id: int, kind: str, payload: dict[str, int], day: date, now: datetime
) -> None:
    """In the caller's transaction, so a fact exists exactly when its change committed."""
    await record_many(community_id, [(kind, payload)], day, now)


async def record_many(
    community_id: int, facts: list[tuple[str, dict[str, int]]], day: date, now: datetime
) -> None:
    """Several facts of one change in one statement, in the order given."""
    rows = ", ".join(
        f"(${i + 1}, ${i + 2}, ${i + 3}, ${i + 4}, ${i + 5})" for i in range(0, 5 * len(facts), 5)
    )
    values: list[object] = []
    for kind, payload in facts:
        values += [community_id, kind, json.dumps(payload, sort_keys=True), day, now]
    await sql.later(
        "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) "  # noqa: S608
        f"VALUES {rows}",
        *values,
    )


async def sequence_pending(limit: int) -> int:
    """Number committed, unsequenced facts after the last number, in id order; gap-free.

    Only one sequencer runs at a time (the sealer's lock), so the numbers never collide.
    """
    head_rows = await BoardFact.raw("SELECT COALESCE(MAX(seq), 0) AS head FROM board_fact")
    head = int(head_rows[0]["head"])
    rows = await BoardFact.raw(
        "UPDATE board_fact SET seq = numbered.seq FROM ("
        "  SELECT id, {} + ROW_NUMBER() OVER (ORDER BY id) AS seq FROM board_fact"
        "  WHERE seq IS NULL ORDER BY id LIMIT {}"
        ") AS numbered WHERE board_fact.id = numbered.id RETURNING board_fact.seq",
        head,
        limit,
    )
    return len(rows)


async def after(seq: int, limit: int) -> list[dict[str, Any]]:
    rows = (
        await BoardFact.select(
            BoardFact.seq,
            BoardFact.community_id,
            BoardFact.kind,
            BoardFact.payload,
            BoardFact.local_day,
        )
        .where(BoardFact.seq > seq)
        .order_by(BoardFact.seq)
        .limit(limit)
    )
    return [
        {
            "seq": int(row["seq"]),
            "community_id": int(row["community_id"]),
            "kind": row["kind"],
            "payload": json.loads(row["payload"]),
            "day": row["local_day"],
        }
        for row in rows
    ]


async def any_between(community_id: int, after_seq: int, through_seq: int) -> bool:
    """Whether the community has a fact numbered in (after_seq, through_seq]."""
    rows = await BoardFact.raw(
        "SELECT id FROM board_fact WHERE seq > {} AND seq <= {} AND community_id = {} LIMIT 1",
        after_seq,
        through_seq,
        community_id,
    )
    return bool(rows)


async def head() -> int:
    rows = await BoardFact.raw("SELECT COALESCE(MAX(seq), 0) AS head FROM board_fact")
    return int(rows[0]["head"])


async def pending_count() -> int:
    rows = await BoardFact.raw("SELECT COUNT(*) AS pending FROM board_fact WHERE seq IS NULL")
    return int(rows[0]["pending"])
