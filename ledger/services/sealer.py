"""One sealer at a time chains committed entries, off the request path."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger import metrics
from ledger.domain.chain import seal_hash
from ledger.domain.localtime import day_start, local_day
from ledger.ports import Clock
from ledger.services import background
from ledger.services.transparency import Transparency
from ledger.store import chain_heads, facts, notices
from ledger.store import seals as store
from ledger.store.engine import Database

log = logging.getLogger(__name__)

SEAL_BATCH = 2_000
IDLE_SECONDS = 0.5


@dataclass(frozen=True)
class Sealer:
    db: Database
    clock: Clock
    # Publishes each closed day's signed head once the clock passes local midnight.
    transparency: Transparency | None = None

    async def seal_pending(self, wait: bool = False) -> tuple[int, int]:
        """Seal up to SEAL_BATCH committed entries and number as many board facts and as many
        notice facts; returns how many entries and facts ((0, 0) if another sealer holds the
        lock, unless `wait`: then after it).

        Seal numbers are gap-free and follow commit visibility, not entry ids: ids commit out
        of order, so only the seal order is safe for anything that follows "applied through N".
        """
        async with self.db.write():
            if wait:
                await store.lock_sealer()
            elif not await store.try_lock_sealer():
                return 0, 0
            sequenced = await self.number_facts()
            entry_ids = await store.pending(SEAL_BATCH)
            if not entry_ids:
                return 0, sequenced
            seal_no, previous = await store.head()
            seals: list[tuple[int, int, str]] = []
            for entry in await store.entries_by_id(entry_ids):
                seal_no += 1
                previous = seal_hash(previous, seal_no, entry)
                seals.append((seal_no, entry.entry_id, previous))
            await store.append(seals, await self._sealed_at())
        return len(seals), sequenced

    async def _sealed_at(self) -> datetime:
        """Now, but never on a day whose head is published: another process, whose clock is a
        little ahead, may have published the day this one still thinks is today, and a seal
        stamped on it would leave its head short of an entry for ever (review19). Under the
        sealer's lock, which publishing takes too."""
        now = self.clock.now()
        published = await chain_heads.last_published_day()
        if published is not None and local_day(now) <= published:
            return day_start(published + timedelta(days=1))
        return now

    async def number_facts(self) -> int:
        """Give up to SEAL_BATCH committed board facts, then as many notice facts, the next
        gap-free numbers (`seq`), in the sealer's transaction and under its lock (before the
        entries are sealed); returns how many. Boards and notices follow these numbers, not
        ids, which commit out of order (docs/decisions/2026-11-25-board-facts.md)."""
        numbered = await facts.sequence_pending(SEAL_BATCH)
        return numbered + await notices.sequence_pending(SEAL_BATCH)

    async def seal_all(self) -> int:
        """Seal and number everything committed so far; returns the entries sealed.

        Another sealer holding the lock (a server's, or the transaction of a process killed a
        moment ago, which PostgreSQL has not ended yet) is waited for, not taken for "nothing
        left": callers rely on everything being numbered when this returns
        (docs/decisions/2026-12-06-seal-all-waits-for-the-lock.md)."""
        total = 0
        while any(done := await self.seal_pending(wait=True)):
            total += done[0]
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Background loop for the server's lifespan; a failure is logged and retried."""
        while not stop.is_set():
            try:
                # A task of its own per pass: when the database goes away mid-transaction,
                # Piccolo leaves the dead transaction in the context (its rollback raises), and
                # every later pass in this task would fail "nested transactions" for ever.
                started = time.perf_counter()
                sealed, numbered = await asyncio.create_task(self.seal_pending())
                busy = bool(sealed or numbered)
                if self.transparency is not None:
                    # One read a day: the service remembers the last day it found closed.
                    await asyncio.create_task(
                        self.transparency.publish_closed_days(self.clock.now())
                    )
                if busy:
                    metrics.step_done(
                        "seal", started, entries_sealed=sealed, facts_numbered=numbered
                    )
            except Exception as error:
                background.step_failed(log, "seal", "sealing", error)
                busy = False
            if not busy:
                await background.idle(stop, IDLE_SECONDS)
