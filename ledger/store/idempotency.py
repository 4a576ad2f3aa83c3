"""The first outcome of every event_id."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from ledger.store import sql
from ledger.store.engine import is_sqlite
from ledger.store.tables import IdempotencyRecord

OUTCOME_OK = "ok"
# Made once: json.dumps with options builds a new encoder on every call (several µs, on every
# audited write). A result is builtins (`msgspec.to_builtins`, `Graded.record`): msgspec's
# encoder writes it, keys sorted and compact, in a tenth of json's time; readers parse it.
_RESULT_JSON = msgspec.json.Encoder(order="sorted")
_INPUTS_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    operation: str
    fingerprint: str
    outcome: str
    result: dict[str, Any]


async def find(event_id: str) -> StoredOutcome | None:
    row = await sql.fetch_one(
        "SELECT operation, fingerprint, outcome, result FROM idempotency_record "
        "WHERE event_id = $1",
        event_id,
    )
    return None if row is None else stored_outcome(row)


async def outcome_of(event_id: str, actor: str) -> str | None:
    """The stored outcome ("ok" or a refusal's code) of this actor's event, if any."""
    row = await sql.fetch_one(
        "SELECT outcome FROM idempotency_record WHERE event_id = $1 AND actor = $2",
        event_id,
        actor,
    )
    return None if row is None else str(row["outcome"])


FIND_MANY = {
    False: "SELECT event_id, operation, fingerprint, outcome, result FROM idempotency_record "
    "WHERE event_id = ANY($1::varchar[])",
    True: "SELECT event_id, operation, fingerprint, outcome, result FROM idempotency_record "
    "WHERE event_id IN (SELECT value FROM json_each($1))",
}


async def find_many(event_ids: list[str]) -> dict[str, StoredOutcome]:
    """The stored outcomes among these event ids, in one statement (SQLite: the ids as JSON)."""
    wanted = sorted(set(event_ids))
    sqlite = is_sqlite()
    rows = await sql.fetch(FIND_MANY[sqlite], json.dumps(wanted) if sqlite else wanted)
    return {row["event_id"]: stored_outcome(row) for row in rows}


def stored_outcome(row: sql.Row) -> StoredOutcome:
    """A stored outcome from a row with its columns (`result` as stored: JSON text)."""
    return StoredOutcome(
        operation=row["operation"],
        fingerprint=row["fingerprint"],
        outcome=row["outcome"],
        result=json.loads(row["result"]),
    )


CLAIM_MANY_PG = (
    "INSERT INTO idempotency_record "
    "(event_id, operation, fingerprint, outcome, result, created_at, actor, role, inputs) "
    "SELECT c.event_id, c.operation, c.fingerprint, c.outcome, c.result, $6::timestamptz, "
    "c.actor, c.role, c.inputs "
    "FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::text[], "
    "$7::varchar[], $8::varchar[], $9::text[]) "
    "AS c(event_id, operation, fingerprint, outcome, result, actor, role, inputs) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


@dataclass(frozen=True, slots=True)
class Claim:
    event_id: str
    operation: str
    fingerprint: str
    outcome: str
    result: dict[str, Any]
    inputs: Mapping[str, object]
    actor: str
    role: str


async def claim_many(claims: list[Claim], *, now: datetime) -> set[str]:
    """`claim` for many events (PostgreSQL: one statement): the event ids stored; one missing
    means another transaction stored it first."""
    if not claims:
        return set()
    if is_sqlite():
        return {c.event_id for c in claims if await _claim_one(c, now)}
    rows = await sql.fetch_carrying(  # the queued writes ride on the claim
        CLAIM_MANY_PG,
        [c.event_id for c in claims],
        [c.operation for c in claims],
        [c.fingerprint for c in claims],
        [c.outcome for c in claims],
        [_RESULT_JSON.encode(c.result).decode() for c in claims],
        now,
        [c.actor for c in claims],
        [c.role for c in claims],
        [_INPUTS_JSON.encode(c.inputs) for c in claims],
    )
    return {row["event_id"] for row in rows}


async def _claim_one(c: Claim, now: datetime) -> bool:
    return await claim(
        c.event_id,
        operation=c.operation,
        fingerprint=c.fingerprint,
        outcome=c.outcome,
        result=c.result,
        now=now,
        actor=c.actor,
        role=c.role,
        inputs=c.inputs,
    )


async def claim(
    event_id: str,
    *,
    operation: str,
    fingerprint: str,
    outcome: str,
    result: dict[str, Any],
    now: datetime,
    actor: str = "",
    role: str = "",
    inputs: Mapping[str, object] | None = None,
) -> bool:
    """Store the outcome unless another transaction stored one first (then False).

    With who asked and what, this record is also the audit log of every write."""
    rows = await sql.fetch_carrying(  # the queued writes ride on the claim
        "INSERT INTO idempotency_record "
        "(event_id, operation, fingerprint, outcome, result, created_at, actor, role, inputs) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        event_id,
        operation,
        fingerprint,
        outcome,
        _RESULT_JSON.encode(result).decode(),
        now,
        actor,
        role,
        _INPUTS_JSON.encode(inputs or {}),
    )
    return bool(rows)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """A stored outcome as the audit log lists it (`inputs`, `result`: JSON text)."""

    event_id: str
    created_at: datetime
    actor: str
    role: str
    operation: str
    inputs: str
    outcome: str
    result: str


async def audit_page(
    roles: list[str],
    actor: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
    operations: Sequence[str] = (),
) -> list[AuditRow]:
    """Newest first: who did what, when, with which inputs, and how it ended; the writes of
    these roles, and of `operations` whoever made them."""
    chosen: Any = IdempotencyRecord.role.is_in(roles)
    if operations:
        chosen = chosen | IdempotencyRecord.operation.is_in(list(operations))
    query = IdempotencyRecord.select().where(chosen)
    if actor:
        query = query.where(IdempotencyRecord.actor == actor)
    if before is not None:
        moment, event_id = before
        query = query.where(
            (IdempotencyRecord.created_at < moment)
            | ((IdempotencyRecord.created_at == moment) & (IdempotencyRecord.event_id < event_id))
        )
    rows: list[dict[str, Any]] = (
        await query.order_by(IdempotencyRecord.created_at, ascending=False)
        .order_by(IdempotencyRecord.event_id, ascending=False)
        .limit(limit)
    )
    return [
        AuditRow(
            event_id=row["event_id"],
            created_at=row["created_at"],
            actor=row["actor"],
            role=row["role"],
            operation=row["operation"],
            inputs=row["inputs"],
            outcome=row["outcome"],
            result=row["result"],
        )
        for row in rows
    ]
