"""Rule versions and the records of earning events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from piccolo.table import Table

from ledger.domain.earning import day_so_far
from ledger.domain.localtime import day_bounds
from ledger.store import facts, sql
from ledger.store.records import picked
from ledger.store.registry import carded_in_compound, scanned
from ledger.store.tables import (
    CollectionPoint,
    Dropoff,
    DutyPost,
    EarningRule,
    Household,
    Shift,
    Weighin,
)


@dataclass(frozen=True, slots=True)
class ScannedHousehold:
    """A household (or shop, office) as a scan names it, with its compound's community."""

    id: int
    compound: int
    community_id: int
    account: int
    building: str
    unit: str
    room: str
    kind: str
    name: str

    card_serial: int
    # Compared by `Members.join` only; kept out of reprs (a log line, a failed assertion).
    join_code: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ScannedPoint:
    """A collection point as a scan names it, with its compound's community."""

    id: int
    compound: int
    community_id: int
    name: str
    windows: str

    card_serial: int


@dataclass(frozen=True, slots=True)
class ScannedPost:
    """A volunteer duty post as a scan names it, with its compound's community."""

    id: int
    compound: int
    community_id: int
    name: str

    card_serial: int


ScannedSubject = ScannedHousehold | ScannedPoint | ScannedPost
"""What a code names: a household's card, a collection point's code or a duty post's."""
Carded = TypeVar("Carded", bound=ScannedSubject)


@dataclass(frozen=True, slots=True)
class Home:
    """Where a staff member lives: nobody grades or weighs for their own building."""

    compound: int
    building: str


@dataclass(frozen=True, slots=True)
class NewDropoff:
    community_id: int
    compound: int
    household: int
    point: int
    resident: int
    local_day: date
    window_start_minute: int
    points_awarded: int
    entry_id: int | None
    rule_version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewWeighin:
    community_id: int
    compound: int
    household: int
    clerk: int
    material: str
    grams: int
    points_awarded: int
    entry_id: int | None
    rule_version: int
    created_at: datetime  # when it was weighed (the daily cap counts by it)


HOME = "SELECT compound, building FROM household WHERE id = $1"
DROPOFF_IN_WINDOW = (
    "SELECT id FROM dropoff WHERE household = $1 AND local_day = $2 "
    "AND window_start_minute = $3 LIMIT 1"
)


COMPOUND_OF_POINT = "SELECT compound FROM collection_point WHERE id = $1"


async def compound_of_point(point_id: int) -> int | None:
    row = await sql.fetch_one(COMPOUND_OF_POINT, point_id)
    return None if row is None else int(row["compound"])


async def scanned_household(household_id: int) -> ScannedHousehold | None:
    row = await scanned(Household, household_id)
    return None if row is None else picked(ScannedHousehold, row)


async def scanned_point(point_id: int) -> ScannedPoint | None:
    row = await scanned(CollectionPoint, point_id)
    return None if row is None else picked(ScannedPoint, row)


async def scanned_post(post_id: int) -> ScannedPost | None:
    row = await scanned(DutyPost, post_id)
    return None if row is None else picked(ScannedPost, row)


_TABLE_OF: dict[type, type[Table]] = {
    ScannedHousehold: Household,
    ScannedPoint: CollectionPoint,
    ScannedPost: DutyPost,
}


async def scanned_in_compound(cls: type[Carded], compound_id: int) -> list[Carded]:
    """Every household, point or post of a compound (a sheet of stickers), in id order."""
    rows = await carded_in_compound(_TABLE_OF[cls], compound_id)
    return [picked(cls, row) for row in rows]


async def home(household_id: int) -> Home | None:
    row = await sql.fetch_one(HOME, household_id)
    return None if row is None else Home(int(row["compound"]), str(row["building"]))


async def dropoff_in_window(household_id: int, day: date, window_start_minute: int) -> int | None:
    """The household's drop-off already recorded in this window of this day, if any."""
    row = await sql.fetch_one(DROPOFF_IN_WINDOW, household_id, day, window_start_minute)
    return None if row is None else int(row["id"])


async def record_dropoff(dropoff: NewDropoff) -> int:
    """The drop-off and its `participation` board fact, in the caller's transaction."""
    rows = await Dropoff.insert(
        Dropoff(
            community_id=dropoff.community_id,
            compound=dropoff.compound,
            household=dropoff.household,
            point=dropoff.point,
            resident=dropoff.resident,
            local_day=dropoff.local_day,
            window_start_minute=dropoff.window_start_minute,
            points_awarded=dropoff.points_awarded,
            entry_id=dropoff.entry_id,
            rule_version=dropoff.rule_version,
            created_at=dropoff.created_at,
        )
    ).returning(Dropoff.id)
    payload = facts.participation(dropoff.compound, dropoff.household)
    await facts.record(
        dropoff.community_id, "participation", payload, dropoff.local_day, dropoff.created_at
    )
    return int(rows[0]["id"])


async def record_weighin(weighin: NewWeighin) -> int:
    rows = await Weighin.insert(
        Weighin(
            community_id=weighin.community_id,
            compound=weighin.compound,
            household=weighin.household,
            clerk=weighin.clerk,
            material=weighin.material,
            grams=weighin.grams,
            points_awarded=weighin.points_awarded,
            entry_id=weighin.entry_id,
            rule_version=weighin.rule_version,
            created_at=weighin.created_at,
        )
    ).returning(Weighin.id)
    return int(rows[0]["id"])


@dataclass(frozen=True, slots=True)
class RuleRow:
    """A rules version as grading reads it: its number and its document as JSON text."""

    version: int
    rules: str
    effective_from: datetime | None = None  # read only where moments are matched to versions


async def rule_at(community_id: int, moment: datetime) -> RuleRow | None:
    """The version in force at `moment`: the latest start not after it (a later version wins
    a tie). A version scheduled ahead takes over on its date, whatever was set meanwhile."""
    row = await sql.fetch_one(
        "SELECT version, rules FROM earning_rule WHERE community = $1 AND effective_from <= $2 "
        "ORDER BY effective_from DESC, version DESC LIMIT 1",
        community_id,
        moment,
    )
    return None if row is None else RuleRow(int(row["version"]), row["rules"])


RULES_BETWEEN = (
    "SELECT version, rules, effective_from FROM earning_rule WHERE community = $1 AND "
    "effective_from <= $3 AND (effective_from > $2 OR version IN (SELECT version FROM "
    "earning_rule WHERE community = $1 AND effective_from <= $2 "
    "ORDER BY effective_from DESC, version DESC LIMIT 1)) "
    "ORDER BY effective_from DESC, version DESC"
)


async def rules_between(community_id: int, earliest: datetime, latest: datetime) -> list[RuleRow]:
    """The versions in force at any moment from `earliest` to `latest`: the one in force at
    `earliest` and every one starting after it up to `latest`, latest start first (a later
    version first on a tie), as `rule_at` orders them."""
    rows = await sql.fetch(
        RULES_BETWEEN,
        community_id,
        earliest,
        latest,
    )
    return [RuleRow(int(row["version"]), row["rules"], row["effective_from"]) for row in rows]


async def rule_version(community_id: int, version: int) -> RuleRow | None:
    row = await (
        EarningRule.select(EarningRule.version, EarningRule.rules)
        .where(EarningRule.community == community_id, EarningRule.version == version)
        .first()
    )
    return None if row is None else RuleRow(int(row["version"]), row["rules"])


async def latest_rule(community_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = await (
        EarningRule.select()
        .where(EarningRule.community == community_id)
        .order_by(EarningRule.version, ascending=False)
        .first()
    )
    return row


async def grading_today(household_id: int, day: date, stream: str) -> tuple[bool, int]:
    """Whether this stream already scored today, and the grading points earned today."""
    rows = await sql.fetch(
        "SELECT stream, scored, points_awarded FROM inspection "
        "WHERE household = $1 AND local_day = $2",
        household_id,
        day,
    )
    return day_so_far(
        ((row["stream"], bool(row["scored"]), int(row["points_awarded"])) for row in rows), stream
    )


async def weighin_points_on(household_id: int, day: date) -> int:
    """The weigh-in points a household earned on a local day (what the daily cap bounds)."""
    start, end = day_bounds(day)
    row = await sql.fetch_one(
        "SELECT COALESCE(SUM(points_awarded), 0) AS points FROM weighin "
        "WHERE household = $1 AND created_at >= $2 AND created_at < $3",
        household_id,
        start,
        end,
    )
    assert row is not None, "an aggregate returns one row"
    return int(row["points"])


async def shift_minutes_on(volunteer_id: int, day: date, exclude_shift_id: int) -> int:
    """Minutes already counted for a volunteer on a local day (regular shifts, not declined)."""
    rows = await Shift.select(Shift.minutes).where(
        Shift.volunteer == volunteer_id,
        Shift.local_day == day,
        Shift.kind == "regular",
        Shift.status.is_in(["pending", "approved"]),
        Shift.id != exclude_shift_id,
    )
    return sum(int(row["minutes"]) for row in rows)


async def served_minutes_on(volunteer_id: int, day: date) -> int:
    """Approved minutes of a volunteer's local day, scanned and back-filled alike."""
    row = await sql.fetch_one(
        "SELECT COALESCE(SUM(minutes), 0) AS minutes FROM shift "
        "WHERE volunteer = $1 AND local_day = $2 AND status = 'approved'",
        volunteer_id,
        day,
    )
    assert row is not None, "an aggregate returns one row"
    return int(row["minutes"])


async def open_shift(volunteer_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = await (
        Shift.select().where(Shift.volunteer == volunteer_id, Shift.status == "open").first()
    )
    return row
