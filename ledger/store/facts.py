"""Board facts: appended with each change, sequenced by the sealer, read by the projector."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import msgspec

from ledger.store import sql

# Keys sorted, compact; made once (msgspec's encoder takes a tenth of json's time, and a
# grading writes three facts). Readers parse the text, so older rows' spacing does not matter.
_PAYLOAD = msgspec.json.Encoder(order="sorted")
_READ = msgspec.json.Decoder()  # parses as json.loads does, in one C call


def payload_text(payload: dict[str, int]) -> str:
    """A fact's payload as it is stored."""
    return _PAYLOAD.encode(payload).decode()


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
        values += [community_id, kind, payload_text(payload), day, now]
    await sql.later(
        "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) "  # noqa: S608
        f"VALUES {rows}",
        *values,
    )


HEAD = "SELECT COALESCE(MAX(seq), 0) AS head FROM board_fact"
NUMBER_PENDING = (
    "UPDATE board_fact SET seq = numbered.seq FROM ("
    "  SELECT id, $1 + ROW_NUMBER() OVER (ORDER BY id) AS seq FROM board_fact"
    "  WHERE seq IS NULL ORDER BY id LIMIT $2"
    ") AS numbered WHERE board_fact.id = numbered.id RETURNING board_fact.seq"
)
AFTER = (
    "SELECT seq, community_id, kind, payload, local_day FROM board_fact "
    "WHERE seq > $1 ORDER BY seq LIMIT $2"
)
ANY_BETWEEN = "SELECT id FROM board_fact WHERE seq > $1 AND seq <= $2 AND community_id = $3 LIMIT 1"
PENDING_COUNT = "SELECT COUNT(*) AS pending FROM board_fact WHERE seq IS NULL"


@dataclass(frozen=True, slots=True)
class Fact:
    """A numbered board fact, as the projector applies it."""

    seq: int
    community_id: int
    kind: str
    payload: dict[str, int]
    day: date


def participation(compound_id: int, household_id: int) -> dict[str, int]:
    """The payload of a `participation` fact: a household of a compound took part that day."""
    return {"compound": compound_id, "household": household_id}


async def sequence_pending(limit: int) -> int:
    """Number committed, unsequenced facts after the last number, in id order; gap-free.

    Only one sequencer runs at a time (the sealer's lock), so the numbers never collide.
    """
    rows = await sql.fetch(NUMBER_PENDING, await head(), limit)
    return len(rows)


async def after(seq: int, limit: int) -> list[Fact]:
    rows = await sql.fetch(AFTER, seq, limit)
    return [
        Fact(
            seq=int(row["seq"]),
            community_id=int(row["community_id"]),
            kind=row["kind"],
            payload=_READ.decode(row["payload"]),
            day=row["local_day"],
        )
        for row in rows
    ]


async def any_between(community_id: int, after_seq: int, through_seq: int) -> bool:
    """Whether the community has a fact numbered in (after_seq, through_seq]."""
    rows = await sql.fetch(ANY_BETWEEN, after_seq, through_seq, community_id)
    return bool(rows)


async def head() -> int:
    row = await sql.fetch_one(HEAD)
    assert row is not None, "an aggregate returns one row"
    return int(row["head"])


async def pending_count() -> int:
    row = await sql.fetch_one(PENDING_COUNT)
    assert row is not None, "an aggregate returns one row"
    return int(row["pending"])
