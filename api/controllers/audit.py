"""The audit log, for admins."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get
from litestar.params import QueryParameter

from api.schemas import AuditPage
from api.security import ADMIN_ONLY
from ledger.domain.access import Role
from ledger.services.audit import audit_log


@get("/api/v1/audit", operation_id="AuditLog", guards=ADMIN_ONLY, tags=["audit"])
async def audit(
    role: Annotated[
        Role | None, QueryParameter(description="default: admin and coordinator")
    ] = None,
    actor: Annotated[str | None, QueryParameter(max_length=64)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> AuditPage:
    """Every write by admins and coordinators (rule changes, reversals, adjustments, approvals,
    appeal decisions, card re-issues, settlements…): who, when, the inputs with their reason,
    and the outcome, including refusals. Newest first."""
    page = await audit_log(role, actor, cursor, limit)
    return msgspec.convert(page, AuditPage, from_attributes=True)
