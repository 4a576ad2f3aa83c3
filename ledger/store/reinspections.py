"""Fair inspections: the re-inspection sample, its candidates, and the reads behind the flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ledger.store import locks, sql
from ledger.store.engine import IN_ID_LIST, dialect, id_list
from ledger.store.tables import AppUser, Reinspection

# A day's gradings in these compounds whose photo is stored here (so the coordinator can see
# it), never drawn before and never appealed (the household's appeal decides those grades).
CANDIDATES = {
    engine: (
        "SELECT i.id, i.community_id, i.inspector, i.grade, i.photo_ref FROM inspection i "  # noqa: S608 (constant text)
        "JOIN photo p ON p.photo_ref = i.photo_ref "
        f"WHERE i.compound {any_of} AND i.local_day = $2 "
        "AND NOT EXISTS (SELECT 1 FROM reinspection r WHERE r.inspection_id = i.id) "
        "AND NOT EXISTS (SELECT 1 FROM appeal a WHERE a.inspection = i.id) "
        "ORDER BY i.id"
    )
    for engine, any_of in IN_ID_LIST.items()
}
SAMPLE_COLUMNS = (
    "r.id, r.community_id, r.inspection_id, r.inspector_id, u.username AS inspector, "
    "r.coordinator_id, r.day, r.original_grade, r.photo_ref, r.offered_at, r.regraded_grade, "
    "r.decided_at, r.decided_by, i.compound AS compound_id, i.household AS household_id, "
    "i.stream "
)
DRAWN = (
    f"SELECT {SAMPLE_COLUMNS}FROM reinspection r JOIN inspection i ON i.id = r.inspection_id "
    "JOIN app_user u ON u.id = r.inspector_id "
    "WHERE r.coordinator_id = $1 AND r.day = $2 ORDER BY r.id"
)
ONE = (
    f"SELECT {SAMPLE_COLUMNS}FROM reinspection r JOIN inspection i ON i.id = r.inspection_id "
    "JOIN app_user u ON u.id = r.inspector_id WHERE r.id = $1"
)
# Re-graded samples per inspector for graded days first..last (end excluded).
DISAGREEMENT = (
    "SELECT r.inspector_id, u.username AS inspector, COUNT(*) AS regraded, "
    "SUM(CASE WHEN r.regraded_grade <> r.original_grade THEN 1 ELSE 0 END) AS disagreed "
    "FROM reinspection r JOIN app_user u ON u.id = r.inspector_id "
    "WHERE r.community_id = $1 AND r.day >= $2 AND r.day < $3 AND r.decided_at IS NOT NULL "
    "GROUP BY r.inspector_id, u.username ORDER BY r.inspector_id"
)
# Gradings and "good" finals per inspector in a community, local days first..end.
INSPECTOR_COUNTS = (
    "SELECT inspector, COUNT(*) AS gradings, "
    "SUM(CASE WHEN grade = 'good' THEN 1 ELSE 0 END) AS good FROM inspection "
    "WHERE community_id = $1 AND local_day >= $2 AND local_day < $3 "
    "GROUP BY inspector ORDER BY inspector"
)
# When each grading was made: the capture time an offline phone sent (kept on its credit),
# else the time it reached the server.
GRADING_TIMES = (
    "SELECT i.inspector, COALESCE(e.captured_at, i.created_at) AS graded_at FROM inspection i "
    "LEFT JOIN entry e ON e.id = i.entry_id "
    "WHERE i.community_id = $1 AND i.local_day >= $2 AND i.local_day < $3"
)
WHO_GRADED = (
    "SELECT DISTINCT household, inspector, local_day FROM inspection "
    "WHERE community_id = $1 AND local_day >= $2 AND local_day < $3"
)
USERNAMES = {
    engine: f"SELECT id, username FROM app_user WHERE id {any_of}"  # noqa: S608 (constant)
    for engine, any_of in IN_ID_LIST.items()
}


@dataclass(frozen=True, slots=True)
class Candidate:
    inspection_id: int
    community_id: int
    inspector_id: int
    grade: str
    photo_ref: str


@dataclass(frozen=True, slots=True)
class SampleRow:
    id: int
    community_id: int
    inspection_id: int
    inspector_id: int
    inspector: str
    coordinator_id: int
    day: date
    original_grade: str
    photo_ref: str
    offered_at: datetime
    regraded_grade: str | None
    decided_at: datetime | None
    decided_by: int | None
    compound_id: int
    household_id: int
    stream: str


@dataclass(frozen=True, slots=True)
class Disagreement:
    inspector_id: int
    inspector: str
    regraded: int
    disagreed: int


def _list(values: Sequence[int]) -> Any:
    return id_list(sorted(set(values)))


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _moment(value: datetime | str | None) -> datetime | None:
    """A timestamp as read: SQLite gives text where an expression hides the column's type."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sample(row: Any) -> SampleRow:
    values = dict(row)
    values["day"] = _day(values["day"])
    values["offered_at"] = _moment(values["offered_at"])
    values["decided_at"] = _moment(values["decided_at"])
    return SampleRow(**values)


async def candidates(compound_ids: Sequence[int], day: date) -> list[Candidate]:
    rows = await sql.fetch(CANDIDATES[dialect()], _list(compound_ids), day)
    return [
        Candidate(
            int(r["id"]), int(r["community_id"]), int(r["inspector"]), r["grade"], r["photo_ref"]
        )
        for r in rows
    ]


async def hold_draws(coordinator_id: int) -> None:
    """In the caller's transaction: this coordinator's draws wait for each other (their user
    row locked until commit), so a second first draw reads the first instead of drawing again
    from what the first left (PostgreSQL; SQLite's writes are one at a time already)."""
    await locks.lock_row(AppUser, coordinator_id)


async def drawn(coordinator_id: int, day: date) -> list[SampleRow]:
    """The coordinator's draw of this graded day, in the order it was drawn."""
    return [_sample(row) for row in await sql.fetch(DRAWN, coordinator_id, day)]


async def add(coordinator_id: int, day: date, chosen: Sequence[Candidate], now: datetime) -> None:
    """Record a draw, in the order drawn (ids follow it)."""
    for candidate in chosen:
        await Reinspection.insert(
            Reinspection(
                community_id=candidate.community_id,
                inspection_id=candidate.inspection_id,
                inspector_id=candidate.inspector_id,
                coordinator_id=coordinator_id,
                day=day,
                original_grade=candidate.grade,
                photo_ref=candidate.photo_ref,
                offered_at=now,
            )
        )


async def held(reinspection_id: int) -> SampleRow | None:
    """In the caller's transaction: the sample row, locked until commit (one decision)."""
    await locks.lock_row(Reinspection, reinspection_id)
    row = await sql.fetch_one(ONE, reinspection_id)
    return None if row is None else _sample(row)


async def decide(reinspection_id: int, grade: str, coordinator_id: int, now: datetime) -> None:
    await Reinspection.update(
        {
            Reinspection.regraded_grade: grade,
            Reinspection.decided_at: now,
            Reinspection.decided_by: coordinator_id,
        }
    ).where(Reinspection.id == reinspection_id)


async def corrected(inspection_id: int) -> bool:
    """Whether a re-inspection changed this grade (an appeal may not change it again)."""
    return bool(
        await Reinspection.exists().where(
            Reinspection.inspection_id == inspection_id,
            Reinspection.decided_at.is_not_null(),
            Reinspection.regraded_grade != Reinspection.original_grade,
        )
    )


async def disagreements(community_id: int, first: date, end: date) -> list[Disagreement]:
    rows = await sql.fetch(DISAGREEMENT, community_id, first, end)
    return [
        Disagreement(
            int(r["inspector_id"]), r["inspector"], int(r["regraded"]), int(r["disagreed"])
        )
        for r in rows
    ]


async def inspector_counts(community_id: int, first: date, end: date) -> list[tuple[int, int, int]]:
    """(inspector, gradings, good) for local days first..end (end excluded)."""
    rows = await sql.fetch(INSPECTOR_COUNTS, community_id, first, end)
    return [(int(r["inspector"]), int(r["gradings"]), int(r["good"])) for r in rows]


async def grading_times(community_id: int, first: date, end: date) -> dict[int, list[datetime]]:
    times: dict[int, list[datetime]] = {}
    for row in await sql.fetch(GRADING_TIMES, community_id, first, end):
        moment = _moment(row["graded_at"])
        assert moment is not None, "every grading has a time"
        times.setdefault(int(row["inspector"]), []).append(moment)
    return times


async def who_graded(community_id: int, first: date, end: date) -> list[tuple[int, int, date]]:
    """(household, inspector, local day), once each, for local days first..end (excluded)."""
    rows = await sql.fetch(WHO_GRADED, community_id, first, end)
    return [(int(r["household"]), int(r["inspector"]), _day(r["local_day"])) for r in rows]


async def usernames(user_ids: Sequence[int]) -> dict[int, str]:
    rows = await sql.fetch(USERNAMES[dialect()], _list(user_ids))
    return {int(r["id"]): r["username"] for r in rows}
