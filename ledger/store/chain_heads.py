"""The transparency log's rows: published day heads, and the seals a day's tree is built from.

Plain one-table reads and inserts, through the query builder (both engines' date and time
conversions come with it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger.domain.receipts import DayHead

__all__ = ["DayHead", "SealRow"]
from ledger.store.tables import ChainHead, EntrySeal


@dataclass(frozen=True, slots=True)
class SealRow:
    seal_no: int
    entry_id: int
    hash: str
    sealed_at: datetime


async def last_published_day() -> date | None:
    row = await ChainHead.select(ChainHead.day).order_by(ChainHead.day, ascending=False).first()
    return None if row is None else _date(row["day"])


async def seals_between(start: datetime, end: datetime) -> list[SealRow]:
    """The seals with start <= sealed_at < end, in seal_no order."""
    rows = (
        await EntrySeal.select(
            EntrySeal.seal_no, EntrySeal.entry_id, EntrySeal.hash, EntrySeal.sealed_at
        )
        .where((EntrySeal.sealed_at >= start) & (EntrySeal.sealed_at < end))
        .order_by(EntrySeal.seal_no)
    )
    return [_seal(row) for row in rows]


async def seal_of_entry(entry_id: int) -> SealRow | None:
    row = await EntrySeal.select().where(EntrySeal.entry_id == entry_id).first()
    return None if row is None else _seal(row)


async def seal_hash_at(seal_no: int) -> str | None:
    row = await EntrySeal.select(EntrySeal.hash).where(EntrySeal.seal_no == seal_no).first()
    return None if row is None else str(row["hash"])


async def insert_heads(heads: list[DayHead], published_at: datetime) -> None:
    await ChainHead.insert(
        *(
            ChainHead(
                day=head.day,
                tree_size=head.tree_size,
                root=head.root,
                key_id=head.key_id,
                signature=head.signature,
                published_at=published_at,
            )
            for head in heads
        )
    )


async def heads_between(first: date, last: date) -> list[DayHead]:
    """The published heads of first..last (inclusive), oldest first."""
    rows = (
        await ChainHead.select()
        .where((ChainHead.day >= first) & (ChainHead.day <= last))
        .order_by(ChainHead.day)
    )
    return [_head(row) for row in rows]


async def head_of(day: date) -> DayHead | None:
    row = await ChainHead.select().where(ChainHead.day == day).first()
    return None if row is None else _head(row)


async def recent_heads(limit: int) -> list[DayHead]:
    rows = await ChainHead.select().order_by(ChainHead.day, ascending=False).limit(limit)
    return [_head(row) for row in rows]


async def all_heads() -> list[DayHead]:
    rows = await ChainHead.select().order_by(ChainHead.day)
    return [_head(row) for row in rows]


def _seal(row: dict[str, object]) -> SealRow:
    sealed_at = row["sealed_at"]
    assert isinstance(sealed_at, datetime)
    return SealRow(int(str(row["seal_no"])), int(str(row["entry_id"])), str(row["hash"]), sealed_at)


def _head(row: dict[str, object]) -> DayHead:
    return DayHead(
        day=_date(row["day"]),
        tree_size=int(str(row["tree_size"])),
        root=str(row["root"]),
        key_id=str(row["key_id"]),
        signature=str(row["signature"]),
    )


def _date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
