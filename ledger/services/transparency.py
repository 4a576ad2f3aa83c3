"""The transparency log: publish each closed local day's signed Merkle root, serve receipts.

Days are the local days (Asia/Shanghai) of `sealed_at`, never of an entry's capture time, so
neither a late capture nor a seal after midnight changes a closed day; leaves are the day's
entry hashes in seal_no order (docs/decisions/2026-12-06-transparency-log.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ledger.domain import merkle
from ledger.domain.access import Principal, Role
from ledger.domain.chain import GENESIS_HASH
from ledger.domain.errors import DayNotPublished, Forbidden, InvalidInput, NotFound, NotYetSealed
from ledger.domain.localtime import day_bounds, day_start, local_day
from ledger.domain.receipts import DayHead, entry_fields, head_payload
from ledger.services.chain_keys import ChainKeys
from ledger.store import chain_heads as store
from ledger.store import seals
from ledger.store.engine import Database

HEADS_RANGE_DAYS_MAX = 366


@dataclass(frozen=True, slots=True)
class Receipt:
    entry_id: int
    day: str
    seal_no: int
    previous_hash: str
    entry: dict[str, Any]
    entry_hash: str
    leaf_index: int
    tree_size: int
    audit_path: list[str]
    root: str


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_id: str
    public_key: str
    algorithm: str
    signing: bool


@dataclass
class Transparency:
    db: Database
    keys: ChainKeys
    # The last local day known published or empty: the sealer's loop asks every pass, and
    # reads the database only once a new day has closed.
    _checked_through: date | None = field(default=None, repr=False)

    async def publish_closed_days(self, now: datetime) -> list[DayHead]:
        """Sign and publish every closed day (its local day before now's) that has sealed
        entries and no head yet; returns the heads published. Cheap when nothing closed.

        Under the sealer's lock, so no seal is being appended meanwhile; the seed-demo calls
        it with past clocks to publish its history as of each day."""
        today = local_day(now)
        if self._checked_through is not None and self._checked_through >= today - timedelta(1):
            return []
        async with self.db.write():
            await seals.lock_sealer()
            last = await store.last_published_day()
            start = day_start(last + timedelta(1)) if last else None
            rows = await store.seals_between(start or _EARLIEST, day_start(today))
            heads = self._heads(rows)
            if heads:
                await store.insert_heads(heads, now)
        self._checked_through = today - timedelta(1)
        return heads

    def _heads(self, rows: list[store.SealRow]) -> list[DayHead]:
        by_day: dict[date, list[bytes]] = {}
        for row in rows:
            by_day.setdefault(local_day(row.sealed_at), []).append(bytes.fromhex(row.hash))
        return [self.head(day, hashes) for day, hashes in sorted(by_day.items())]

    def head(self, day: date, entry_hashes: list[bytes]) -> DayHead:
        root = merkle.root(entry_hashes).hex()
        size = len(entry_hashes)
        signature = self.keys.sign(head_payload(day, size, root))
        return DayHead(day, size, root, self.keys.key_id, signature)

    async def heads(self, first: date, last: date) -> list[DayHead]:
        """Published heads of first..last; a range of at most HEADS_RANGE_DAYS_MAX days."""
        if last < first:
            raise InvalidInput("to", "must not be before from")
        if (last - first).days >= HEADS_RANGE_DAYS_MAX:
            raise InvalidInput("to", f"a range covers at most {HEADS_RANGE_DAYS_MAX} days")
        async with self.db.read():
            return await store.heads_between(first, last)

    async def recent(self, limit: int = 30) -> list[DayHead]:
        async with self.db.read():
            return await store.recent_heads(limit)

    def public_keys(self) -> list[PublicKey]:
        return [PublicKey(kid, key, "Ed25519", signs) for kid, key, signs in self.keys.published()]

    async def receipt(self, viewer: Principal, entry_id: int) -> Receipt:
        """The entry's receipt, for whoever may read its account's history (an admin, or a
        member of either account); 409 until it is sealed and its day published."""
        async with self.db.read():
            entries = await seals.entries_by_id([entry_id])
            entry = entries[0] if entries else None
            if entry is None:
                if viewer.role is Role.ADMIN:
                    raise NotFound("entry", entry_id)
                raise Forbidden("this entry belongs to someone else")
            owners = {entry.debit_account_id, entry.credit_account_id}
            if viewer.role is not Role.ADMIN and not owners & set(viewer.account_ids):
                raise Forbidden("this entry belongs to someone else")
            return await self.receipt_of(entry_id, entry_fields(entry))

    async def receipt_of(self, entry_id: int, fields: dict[str, Any]) -> Receipt:
        """Within the caller's read: the proof of an entry the caller may show."""
        seal = await store.seal_of_entry(entry_id)
        if seal is None:
            raise NotYetSealed(f"entry {entry_id} is not sealed yet; try again in a minute")
        day = local_day(seal.sealed_at)
        head = await store.head_of(day)
        if head is None:
            raise DayNotPublished(
                f"the head of {day.isoformat()} is published after local midnight", day=str(day)
            )
        previous = GENESIS_HASH
        if seal.seal_no > 1:
            previous = await store.seal_hash_at(seal.seal_no - 1) or GENESIS_HASH
        rows = await store.seals_between(*day_bounds(day))
        hashes = [bytes.fromhex(row.hash) for row in rows]
        index = next(i for i, row in enumerate(rows) if row.seal_no == seal.seal_no)
        return Receipt(
            entry_id=entry_id,
            day=day.isoformat(),
            seal_no=seal.seal_no,
            previous_hash=previous,
            entry=fields,
            entry_hash=seal.hash,
            leaf_index=index,
            tree_size=head.tree_size,
            audit_path=[p.hex() for p in merkle.audit_path(hashes, index)],
            root=head.root,
        )


_EARLIEST = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
