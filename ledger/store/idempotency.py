"""The first outcome of every event_id."""

from __future__ import annotations

import json
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
) -> bool:
    """Store the outcome unless another transaction stored one first (then False)."""
    rows = await (
        IdempotencyRecord.insert(
            IdempotencyRecord(
                event_id=event_id,
                operation=operation,
                fingerprint=fingerprint,
                outcome=outcome,
                result=json.dumps(result, ensure_ascii=False, sort_keys=True),
                created_at=now,
            )
        )
        .on_conflict(target=IdempotencyRecord.event_id, action="DO NOTHING")
        .returning(IdempotencyRecord.event_id)
    )
    return bool(rows)
