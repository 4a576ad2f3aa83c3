"""Reports per compound and period, for subdistrict staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ledger.domain.errors import InvalidInput, NotFound
from ledger.domain.leaderboard import percent_text, ratio
from ledger.store import boards as board_store
from ledger.store import registry as registry_store
from ledger.store import reports as store
from ledger.store.replica import on_replica
from ledger.store.reports import RewardStock

REPORT_DAYS_MAX = 366


@dataclass(frozen=True, slots=True)
class CompoundRow:
    """One compound's figures (a street's or building's counts its shops or offices where a
    compound's counts its households)."""

    compound_id: int
    compound: str
    kind: str  # residential, shop_street or office_building
    households: int
    participating_households: int
    participation_rate: str
    grades: int
    good_grades: int
    accuracy_rate: str
    points_issued: int
    points_redeemed: int
    points_reversed: int
    points_paid_to_merchants: int
    points_expired: int
    points_outstanding: int
    volunteer_minutes: int


@dataclass(frozen=True, slots=True)
class CompoundReport:
    community_id: int
    community: str
    first_day: date
    last_day: date
    rows: list[CompoundRow]
    reward_stock: list[RewardStock]


@dataclass(frozen=True, slots=True)
class Trends:
    days: list[str]  # ISO days
    accuracy: list[float]
    participation: list[float]


@on_replica
async def compound_report(community_id: int, first: date, last: date) -> CompoundReport:
    """One row per compound for local days first..last (both included)."""
    name = await _check(community_id, first, last)
    end = last + timedelta(days=1)
    compounds = await board_store.compounds_of(community_id)
    graded = await board_store.grades(community_id, first, end)
    taking_part = await board_store.participants(community_id, first, end)
    issued = await store.issued(community_id, first, end)
    flows = await store.flows(community_id, first, end)
    held = await store.outstanding(community_id, end)
    minutes = await store.volunteer_minutes(community_id, first, end)
    rows = [
        _row(
            cid,
            info,
            graded.get(cid, (0, 0)),
            taking_part.get(cid, 0),
            issued.get(cid, 0),
            flows.get(cid, {}),
            held.get(cid, 0),
            minutes.get(cid, 0),
        )
        for cid, info in compounds.items()
    ]
    stock = await store.reward_stock(community_id)
    return CompoundReport(community_id, name, first, last, rows, stock)


@on_replica
async def trends(community_id: int, first: date, last: date) -> Trends:
    """Accuracy and participation per local day across the community."""
    await _check(community_id, first, last)
    end = last + timedelta(days=1)
    households = sum(c.households for c in (await board_store.compounds_of(community_id)).values())
    grades = await store.daily_grades(community_id, first, end)
    taking_part = await store.daily_participants(community_id, first, end)
    days = [(first + timedelta(days=n)).isoformat() for n in range((end - first).days)]
    return Trends(
        days=days,
        accuracy=[float(ratio(*grades.get(d, (0, 0)))) for d in days],
        participation=[float(ratio(taking_part.get(d, 0), households)) for d in days],
    )


async def check_period(community_id: int, first: date, last: date) -> str:
    """The community's name, once the period and the community are found good (every report)."""
    return await _check(community_id, first, last)


async def _check(community_id: int, first: date, last: date) -> str:
    """The community's name, once the period and the community are found good."""
    if last < first or (last - first).days >= REPORT_DAYS_MAX:
        raise InvalidInput("to", f"must be on or after `from`, within {REPORT_DAYS_MAX} days")
    name = await registry_store.community_name(community_id)
    if name is None:
        raise NotFound("community", community_id)
    return name


def _row(
    compound_id: int,
    info: board_store.CompoundSize,
    graded: tuple[int, int],
    participants: int,
    issued: int,
    flows: dict[str, int],
    held: int,
    minutes: int,
) -> CompoundRow:
    grades, good = graded
    return CompoundRow(
        compound_id=compound_id,
        compound=info.name,
        kind=info.kind,
        households=info.households,
        participating_households=participants,
        participation_rate=percent_text(ratio(participants, info.households)),
        grades=grades,
        good_grades=good,
        accuracy_rate=percent_text(ratio(good, grades)),
        points_issued=issued,
        points_redeemed=-flows.get("redemption", 0),
        points_reversed=flows.get("reversal", 0),
        points_paid_to_merchants=-flows.get("payment", 0),
        points_expired=-flows.get("expiry", 0),
        points_outstanding=held,
        volunteer_minutes=minutes,
    )
