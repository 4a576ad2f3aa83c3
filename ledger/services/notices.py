"""Everyone hears back: notices made from the ledger's own events, an inbox per person, and the
projection that keeps the inbox (rebuildable, exactly once).

One mechanism (docs/decisions/2026-12-06-notices.md): an event that someone should hear of
writes a notice fact in its own transaction; the sealer numbers the facts; the projector turns
each fact, in number order, into the notice with that number.

- Audited writes: `Runner.once` hands every committed outcome to
  `notice_events.record_event`, which knows the operations that notify (by their audit name).
- The expiry job: `Expiry.warn` writes the weekly `points_expiring` warning the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.access import Principal
from ledger.domain.errors import InvalidInput
from ledger.ports import Clock
from ledger.services import background
from ledger.services.accounts import PAGE_LIMIT_MAX, decode_cursor, encode_cursor
from ledger.store import notices as store
from ledger.store.engine import Database

log = logging.getLogger(__name__)

FACT_BATCH = 500
IDLE_SECONDS = 0.5
MARK_IDS_MAX = 500


@dataclass(frozen=True, slots=True)
class NoticePage:
    """Newest first; each item as `notice_item` makes it (its kind's fields beside the rest)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Marked:
    marked: int
    unread: int


# --- the reader's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Notices:
    db: Database
    clock: Clock

    async def inbox(self, reader: Principal, cursor: str | None, limit: int) -> NoticePage:
        """The reader's notices, newest first: `items` and `next_cursor`, as every list."""
        if not 1 <= limit <= PAGE_LIMIT_MAX:
            raise InvalidInput("limit", f"must be between 1 and {PAGE_LIMIT_MAX}")
        rows = await store.inbox(
            reader.user_id, reader.volunteer_id, decode_cursor(cursor), limit + 1
        )
        items = [notice_item(row) for row in rows[:limit]]
        more = len(rows) > limit
        return NoticePage(items, encode_cursor(items[-1]["id"]) if more else None)

    async def unread(self, reader: Principal) -> int:
        return await store.unread_count(reader.user_id, reader.volunteer_id)

    async def mark_read(
        self, reader: Principal, ids: list[int] | None, up_to_id: int | None
    ) -> Marked:
        """Idempotent by nature: marking a read notice read again changes nothing."""
        if (ids is None) == (up_to_id is None):
            raise InvalidInput("ids", "send either `ids` or `up_to_id`")
        if ids is not None and not 1 <= len(ids) <= MARK_IDS_MAX:
            raise InvalidInput("ids", f"1-{MARK_IDS_MAX} notice ids")
        async with self.db.write():
            marked = await store.mark_read(
                reader.user_id, reader.volunteer_id, ids, up_to_id, self.clock.now()
            )
        return Marked(marked=marked, unread=await self.unread(reader))


def notice_item(row: store.NoticeRow) -> dict[str, Any]:
    """A notice as the API and the pages show it (its text is added by the edge, in the
    reader's language): id, kind, created_at, read and its kind's fields. A JSON record whose
    keys depend on its kind, so a dict."""
    fields = json.loads(row.payload)
    created_at = row.created_at
    if isinstance(created_at, str):
        created_at = datetime.fromisoformat(created_at)
    return {
        **fields,
        "id": row.id,
        "kind": row.kind,
        "created_at": created_at.isoformat(),
        "read": row.read_at is not None,
        "household_id": row.household_id,
        "volunteer_id": row.volunteer_id,
    }


# --- the projection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeProjector:
    """Numbered notice facts into notices, in order, each exactly once (a notice's id is its
    fact's number: applying it again inserts nothing)."""

    db: Database
    clock: Clock

    async def catch_up(self) -> int:
        """Apply every numbered fact past the last notice; returns how many were applied."""
        total = 0
        while True:
            async with self.db.write():
                batch = await store.facts_after(await store.applied_through(), FACT_BATCH)
                await store.apply(batch, self.clock.now())
            total += len(batch)
            if len(batch) < FACT_BATCH:
                return total

    async def rebuild(self) -> int:
        """Forget the notices and make them again from every fact. Ids come back the same, so
        read marks stay and nothing already delivered is delivered again. One transaction: a
        reader sees the old inbox or the new one, never an empty one."""
        applied = through = 0
        async with self.db.write():
            await store.clear()
            while batch := await store.facts_after(through, FACT_BATCH):
                await store.apply(batch, self.clock.now())
                applied += len(batch)
                through = batch[-1].seq
        return applied

    async def run(self, stop: asyncio.Event) -> None:
        """Background loop beside the sealer's (the server's lifespan, or `greenledger work`)."""
        await background.poll(
            stop,
            self.catch_up,
            log=log,
            name="notices",
            doing="notice projection",
            idle_seconds=IDLE_SECONDS,
        )
