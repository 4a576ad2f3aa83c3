"""The sealer's reads and appends, and the raw material of `verify`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain.chain import GENESIS_HASH, SealableEntry
from ledger.store import sql
from ledger.store.engine import is_sqlite
from ledger.store.tables import Entry, EntrySeal, UnsealedEntry

# Any constant works; it names the one lock under which seals are appended, across machines.
SEALER_LOCK_KEY = 0x6C65_6467_6572
TRY_LOCK_SEALER_PG = "SELECT pg_try_advisory_xact_lock($1) AS locked"
LOCK_SEALER_PG = "SELECT pg_advisory_xact_lock($1)"


async def try_lock_sealer() -> bool:
    """Within the caller's transaction. SQLite has one writer at a time already."""
    if is_sqlite():
        return True
    row = await sql.fetch_one(TRY_LOCK_SEALER_PG, SEALER_LOCK_KEY)
    assert row is not None, "a SELECT without FROM returns one row"
    return bool(row["locked"])


async def lock_sealer() -> None:
    """Within the caller's transaction: wait until no other sealer holds the lock."""
    if not is_sqlite():
        await sql.fetch(LOCK_SEALER_PG, SEALER_LOCK_KEY)


async def pending(limit: int) -> list[int]:
    rows = (
        await UnsealedEntry.select(UnsealedEntry.entry_id)
        .order_by(UnsealedEntry.entry_id)
        .limit(limit)
    )
    return [int(row["entry_id"]) for row in rows]


async def head() -> tuple[int, str]:
    """The last seal number and hash (0 and the genesis hash before the first)."""
    row = (
        await EntrySeal.select(EntrySeal.seal_no, EntrySeal.hash)
        .order_by(EntrySeal.seal_no, ascending=False)
        .first()
    )
    return (0, GENESIS_HASH) if row is None else (int(row["seal_no"]), str(row["hash"]))


async def entries_by_id(entry_ids: list[int]) -> list[SealableEntry]:
    rows = await Entry.select().where(Entry.id.is_in(entry_ids)).order_by(Entry.id)
    return [sealable(row) for row in rows]


async def append(seals: list[tuple[int, int, str]], now: datetime) -> None:
    """The seals, and the entries off the queue. On PostgreSQL two constant statements for
    the whole batch (building a 2,000-row INSERT with Piccolo cost more than the hashing)."""
    if not is_sqlite():
        seal_nos, entry_ids, digests = (list(column) for column in zip(*seals, strict=True))
        await sql.later(
            "INSERT INTO entry_seal (seal_no, entry_id, hash, sealed_at) "
            "SELECT s.seal_no, s.entry_id, s.hash, $4::timestamptz "
            "FROM unnest($1::bigint[], $2::bigint[], $3::varchar[]) AS s(seal_no, entry_id, hash)",
            seal_nos,
            entry_ids,
            digests,
            now,
        )
        await sql.later("DELETE FROM entry_unsealed WHERE entry_id = ANY($1::bigint[])", entry_ids)
        return
    await EntrySeal.insert(
        *(
            EntrySeal(seal_no=seal_no, entry_id=entry_id, hash=digest, sealed_at=now)
            for seal_no, entry_id, digest in seals
        )
    )
    await UnsealedEntry.delete().where(UnsealedEntry.entry_id.is_in([s[1] for s in seals]))


def sealable(row: dict[str, Any]) -> SealableEntry:
    return SealableEntry(
        entry_id=row["id"],
        community_id=row["community_id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount_points=row["amount_points"],
        kind=row["kind"],
        debit_balance_after=row["debit_balance_after"],
        credit_balance_after=row["credit_balance_after"],
        event_id=row["event_id"],
        reverses_entry_id=row["reverses_entry_id"],
        rule_version=row["rule_version"],
        actor=row["actor"],
        memo=row["memo"],
        created_at=row["created_at"],
        captured_at=row.get("captured_at"),
    )
