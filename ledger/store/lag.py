"""How far the sealer and the projector are behind: what /health/ready and /metrics report."""

from __future__ import annotations

from datetime import datetime

from ledger.store import facts, sql
from ledger.store.tables import BoardFact, Entry

UNSEALED = "SELECT COUNT(*) AS pending, MIN(entry_id) AS first FROM entry_unsealed"


async def unsealed() -> tuple[int, datetime | None]:
    """Entries committed but not sealed yet, and when the oldest of them was written."""
    row = await sql.fetch_one(UNSEALED)
    assert row is not None, "an aggregate has a row"
    pending, first = int(row["pending"]), row["first"]
    if not pending or first is None:
        return 0, None
    oldest = await Entry.select(Entry.created_at).where(Entry.id == int(first)).first()
    return pending, oldest["created_at"] if oldest else None


async def unapplied(cursor: int) -> tuple[int, datetime | None]:
    """Board facts the projector has not applied past `cursor` (numbered or not yet), and
    when the oldest of them was written."""
    head, unnumbered = await facts.head(), await facts.pending_count()
    pending = max(0, head - cursor) + unnumbered
    if not pending:
        return 0, None
    oldest = (
        await BoardFact.select(BoardFact.created_at)
        .where(BoardFact.seq > cursor)
        .order_by(BoardFact.seq)
        .first()
    )
    if oldest is None:
        oldest = (
            await BoardFact.select(BoardFact.created_at)
            .where(BoardFact.seq.is_null())
            .order_by(BoardFact.id)
            .first()
        )
    return pending, oldest["created_at"] if oldest else None
