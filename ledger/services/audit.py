"""The audit log: every admin and coordinator write, with who, when, what and why.

It is the idempotency record itself: every write stores one row with its actor, its inputs
(reasons included) and its outcome in the transaction that made it, so nothing can change the
ledger without leaving its line here.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.access import Role
from ledger.domain.errors import InvalidInput
from ledger.services import members
from ledger.services.accounts import PAGE_LIMIT_MAX
from ledger.store import idempotency as store

AUDITED_ROLES = (Role.ADMIN, Role.COORDINATOR)
# Writes in the log whoever made them: who joined or left a household, and join code resets
# (residents and clerks make them).
AUDITED_OPERATIONS = members.OPERATIONS


@dataclass(frozen=True, slots=True)
class AuditEntry:
    event_id: str
    at: str  # ISO moment
    actor: str
    role: str
    operation: str
    inputs: dict[str, Any]
    outcome: str
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEntry]
    next_cursor: str | None


async def audit_log(
    role: Role | None, actor: str | None, cursor: str | None, limit: int
) -> AuditPage:
    if not 1 <= limit <= PAGE_LIMIT_MAX:
        raise InvalidInput("limit", f"must be between 1 and {PAGE_LIMIT_MAX}")
    roles = [role.value] if role else [r.value for r in AUDITED_ROLES]
    operations = () if role else AUDITED_OPERATIONS
    rows = await store.audit_page(roles, actor, _decode(cursor), limit + 1, operations)
    items = [_item(row) for row in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return AuditPage(items, _encode(last) if last else None)


def _item(row: store.AuditRow) -> AuditEntry:
    return AuditEntry(
        event_id=row.event_id,
        at=row.created_at.isoformat(),
        actor=row.actor,
        role=row.role,
        operation=row.operation,
        inputs=json.loads(row.inputs),
        outcome=row.outcome,
        result=json.loads(row.result),
    )


def _encode(row: store.AuditRow) -> str:
    text = f"{row.created_at.isoformat()}|{row.event_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, event_id = text.partition("|")
        parsed = datetime.fromisoformat(moment)
        if not event_id or parsed.tzinfo is None:
            raise ValueError(text)
        return parsed, event_id
    except ValueError as error:
        raise InvalidInput("cursor", "not a cursor this server issued") from error
