"""The one way earned points enter an account: a transfer from a community issuance stripe."""

from __future__ import annotations

from datetime import datetime

from ledger.domain.accounts import AccountKind, issuance_stripe
from ledger.domain.entries import EntryKind, Transfer
from ledger.store import ledger as store


async def credit_from_issuance(
    *,
    community_id: int,
    account_id: int,
    amount_points: int,
    kind: EntryKind,
    event_id: str,
    actor: str,
    now: datetime,
    memo: str = "",
    rule_version: int | None = None,
    captured_at: datetime | None = None,
) -> store.Posted:
    """In the caller's transaction. The stripe follows the event, so a retry hits the same row."""
    issuance = await store.community_account(
        community_id, AccountKind.ISSUANCE, issuance_stripe(event_id)
    )
    transfer = Transfer(
        debit_account_id=issuance,
        credit_account_id=account_id,
        amount_points=amount_points,
        kind=kind,
        memo=memo,
        rule_version=rule_version,
    )
    return await store.post(
        transfer, event_id=event_id, actor=actor, now=now, captured_at=captured_at
    )
