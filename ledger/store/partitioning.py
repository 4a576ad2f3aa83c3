"""Monthly partitions of `entry` on PostgreSQL, for a ledger past hundreds of millions of rows.

The table keeps its name, columns, checks, indexes and append-only trigger; its primary key
becomes (id, created_at), as PostgreSQL requires the partition key in every unique index. The
one unique rule that is lost, a reversal at most once per entry, is kept by `entry_reversal`.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from ledger.store import sql
from ledger.store.engine import current_engine, is_sqlite

LOCAL_ZONE = "Asia/Shanghai"
IS_PARTITIONED_PG = (
    "SELECT c.relkind = 'p' AS partitioned FROM pg_class c WHERE c.relname = 'entry' "
    "AND c.relnamespace = 'public'::regnamespace"
)


def _months(first: date, count: int) -> list[tuple[date, date]]:
    starts = []
    year, month = first.year, first.month
    for _ in range(count + 1):
        starts.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return list(pairwise(starts))


def statements(first: date, months: int) -> list[str]:
    texts = [
        "ALTER TABLE entry RENAME TO entry_unpartitioned",
        "CREATE TABLE entry (LIKE entry_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        " PARTITION BY RANGE (created_at)",
        "ALTER TABLE entry ADD PRIMARY KEY (id, created_at)",
        "ALTER SEQUENCE entry_id_seq OWNED BY entry.id",
        "CREATE INDEX entry_debit_account_by_id ON entry (debit_account_id, id)",
        "CREATE INDEX entry_credit_account_by_id ON entry (credit_account_id, id)",
        "CREATE INDEX entry_reverses ON entry (reverses_entry_id)",
        "CREATE TRIGGER entry_append_only_partitioned BEFORE UPDATE OR DELETE ON entry"
        " FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    ]
    for start, end in _months(first, months):
        texts.append(
            f"CREATE TABLE entry_{start:%Y_%m} PARTITION OF entry FOR VALUES FROM "
            f"('{start} 00:00 {LOCAL_ZONE}') TO ('{end} 00:00 {LOCAL_ZONE}')"
        )
    texts += [
        "CREATE TABLE entry_other PARTITION OF entry DEFAULT",
        "INSERT INTO entry SELECT * FROM entry_unpartitioned",
        "DROP TABLE entry_unpartitioned",
    ]
    return texts


async def partition_entries_by_month(first: date, months: int) -> int:
    """Convert `entry` in one transaction (DDL is transactional in PostgreSQL)."""
    if is_sqlite():
        raise ValueError("partitioning needs PostgreSQL")
    if await is_partitioned():
        return 0
    async with current_engine().transaction():
        for statement in statements(first, months):
            await sql.fetch(statement)
    return months


async def is_partitioned() -> bool:
    row = await sql.fetch_one(IS_PARTITIONED_PG)
    return bool(row and row["partitioned"])
