"""Appeals of grades, and the inspection each one contests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.store import locks
from ledger.store.batch_writes import InspectionScore
from ledger.store.registry import TableClass
from ledger.store.tables import Appeal, Inspection

# What a page of appeals lists (ledger/services/accounts.py `scoped_page`).
LISTED: TableClass = Appeal


@dataclass(frozen=True, slots=True)
class InspectionRow(InspectionScore):
    id: int
    community_id: int
    compound_id: int
    household_id: int
    stream: str
    final_grade: str


@dataclass(frozen=True, slots=True)
class AppealRow:
    id: int
    inspection_id: int
    compound_id: int
    status: str


@dataclass(frozen=True, slots=True)
class NewAppeal:
    inspection_id: int
    household_id: int
    compound_id: int
    reason: str
    opened_by: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AppealClosing:
    """A decision: `new_grade` and the entries only when upheld."""

    status: str
    decided_by: int
    decided_at: datetime
    new_grade: str | None = None
    reversal_entry_id: int | None = None
    credit_entry_id: int | None = None


def _inspection(row: dict[str, Any]) -> InspectionRow:
    return InspectionRow(
        id=row["id"],
        community_id=row["community_id"],
        compound_id=row["compound"],
        household_id=row["household"],
        stream=row["stream"],
        final_grade=row["final_grade"],
        local_day=row["local_day"],
        scored=bool(row["scored"]),
        points_awarded=int(row["points_awarded"]),
        entry_id=row["entry_id"],
        rule_version=row["rule_version"],
        created_at=row["created_at"],
    )


async def inspection(inspection_id: int) -> InspectionRow | None:
    row = await Inspection.select().where(Inspection.id == inspection_id).first()
    return None if row is None else _inspection(row)


async def graded_household(inspection_id: int) -> int | None:
    row = (
        await Inspection.select(Inspection.household).where(Inspection.id == inspection_id).first()
    )
    return None if row is None else int(row["household"])


async def appealed(inspection_id: int) -> bool:
    return bool(await Appeal.exists().where(Appeal.inspection == inspection_id))


async def add(appeal: NewAppeal) -> int:
    rows = await Appeal.insert(
        Appeal(
            inspection=appeal.inspection_id,
            household=appeal.household_id,
            compound=appeal.compound_id,
            reason=appeal.reason,
            status="open",
            opened_by=appeal.opened_by,
            created_at=appeal.created_at,
        )
    ).returning(Appeal.id)
    return int(rows[0]["id"])


async def held(appeal_id: int) -> AppealRow | None:
    """In the caller's transaction: the appeal, locked until commit (one decision)."""
    await locks.lock_row(Appeal, appeal_id)
    row = await (
        Appeal.select(Appeal.id, Appeal.inspection, Appeal.compound, Appeal.status)
        .where(Appeal.id == appeal_id)
        .first()
    )
    if row is None:
        return None
    return AppealRow(row["id"], row["inspection"], row["compound"], row["status"])


async def close(appeal_id: int, closing: AppealClosing) -> None:
    values: dict[Any, Any] = {
        Appeal.status: closing.status,
        Appeal.decided_by: closing.decided_by,
        Appeal.decided_at: closing.decided_at,
    }
    if closing.new_grade is not None:
        values |= {
            Appeal.new_grade: closing.new_grade,
            Appeal.reversal_entry_id: closing.reversal_entry_id,
            Appeal.credit_entry_id: closing.credit_entry_id,
        }
    await Appeal.update(values).where(Appeal.id == appeal_id)


async def regraded(inspection_id: int, final_grade: str, points_awarded: int) -> None:
    await Inspection.update(
        {Inspection.final_grade: final_grade, Inspection.points_awarded: points_awarded}
    ).where(Inspection.id == inspection_id)
