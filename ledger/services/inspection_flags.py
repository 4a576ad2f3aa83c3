"""Anomaly flags on inspectors, for the staff page and `GET /api/v1/reports/inspection-flags`.

Read-only: a flag informs whoever looks; it never changes a grade or a point. The statistics
and their thresholds are in ledger/domain/inspection_checks.py
(docs/decisions/2026-12-06-fair-inspections.md says why these).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ledger.domain import inspection_checks as checks
from ledger.domain.inspection_checks import Flag, InspectorCounts
from ledger.services.reports import check_period
from ledger.store import reinspections as store
from ledger.store.replica import on_replica

WINDOW_DAYS_DEFAULT = 28


@dataclass(frozen=True, slots=True)
class InspectionFlag:
    kind: str  # good_share | volume | pace | sole_inspector
    inspector_id: int
    inspector: str
    statistic: str
    value: float
    threshold: float
    detail: str
    household_id: int | None
    month: str | None


@dataclass(frozen=True, slots=True)
class InspectionFlags:
    community_id: int
    first_day: date
    last_day: date
    flags: list[InspectionFlag]


@on_replica
async def inspection_flags(community_id: int, first: date, last: date) -> InspectionFlags:
    """Every flag for the community's gradings of local days first..last: by kind, then the
    largest deviation first."""
    await check_period(community_id, first, last)
    end = last + timedelta(days=1)
    counts = [
        InspectorCounts(inspector, gradings, good)
        for inspector, gradings, good in await store.inspector_counts(community_id, first, end)
    ]
    found: list[Flag] = [
        *checks.good_share_flags(counts),
        *checks.volume_flags(counts),
        *checks.pace_flags(await store.grading_times(community_id, first, end)),
        *checks.sole_inspector_flags(await store.who_graded(community_id, first, end)),
    ]
    order = {"good_share": 0, "volume": 1, "pace": 2, "sole_inspector": 3}
    found.sort(key=lambda f: (order[f.kind], -abs(f.value), f.inspector_id, f.household_id or 0))
    names = await store.usernames([f.inspector_id for f in found])
    return InspectionFlags(
        community_id,
        first,
        last,
        [
            InspectionFlag(
                kind=f.kind,
                inspector_id=f.inspector_id,
                inspector=names.get(f.inspector_id, ""),
                statistic=f.statistic,
                value=round(f.value, 2),
                threshold=f.threshold,
                detail=f.detail,
                household_id=f.household_id,
                month=f.month,
            )
            for f in found
        ],
    )
