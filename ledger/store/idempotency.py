"""The first outcome of every event_id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.store.tables import IdempotencyRecord

OUTCOME_OK = "ok"


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    operation: str
    fingerprint: str
    outcome: str
    result: dict[str, Any]


async def find(event_id: str) -> StoredOutcome | None:
    row = await IdempotencyRecord.select().where(IdempotencyRecord.event_id == event_id).first()
    if row is None:
        return None
    return StoredOutcome(
        operation=row["operation"],
        fingerprint=row["fingerprint"],
        outcome=row["outcome"],
        result=json.loads(row["result"]),
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
    rows = await (
        IdempotencyRecord.insert(
            IdempotencyRecord(
                event_id=event_id,
                operation=operation,
                fingerprint=fingerprint,
                outcome=outcome,
                result=json.dumps(result, ensure_ascii=False, sort_keys=True),
                created_at=now,
                actor=actor,
                role=role,
                inputs=json.dumps(inputs or {}, ensure_ascii=False, sort_keys=True, default=str),
            )
        )
        .on_conflict(target=IdempotencyRecord.event_id, action="DO NOTHING")
        .returning(IdempotencyRecord.event_id)
    )
    return bool(rows)


async def audit_page(
    roles: list[str], actor: str | None, before: tuple[datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first: who did what, when, with which inputs, and how it ended."""
    query = IdempotencyRecord.select().where(IdempotencyRecord.role.is_in(roles))
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
    return rows
