"""A random world and workload for the board tests, and the comparison of Redis with SQL.

Everything is driven by a `random.Random`, so a seed (or a Hypothesis-drawn list of steps)
replays the same workload. Operations that the ledger refuses (not enough points, an appeal
too late, a second reversal) are part of the workload: a refusal must change no board.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.errors import LedgerError
from ledger.domain.leaderboard import Board, Period, half_month_day
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Material, Stream
from ledger.projections.boards import RedisBoards
from ledger.services.boards import Boards
from ledger.services.catalog import RewardFields
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.store.tables import Inspection
from tests.factories import FrozenClock, event_id, make_household, make_user

HANGZHOU = ZoneInfo("Asia/Shanghai")
_names = itertools.count(1)

# Local moments where periods turn over: midnight, the 15th/16th, month, ISO week and year ends.
EDGE_STARTS = [
    datetime(2026, 11, 14, 22, 30, tzinfo=HANGZHOU),
    datetime(2026, 11, 15, 23, 40, tzinfo=HANGZHOU),
    datetime(2026, 11, 29, 23, 0, tzinfo=HANGZHOU),  # Sunday before the 30th
    datetime(2026, 12, 15, 23, 50, tzinfo=HANGZHOU),
    datetime(2026, 12, 31, 22, 0, tzinfo=HANGZHOU),  # 2026-W53 runs into 2027
    datetime(2027, 1, 3, 23, 30, tzinfo=HANGZHOU),  # Sunday 2026-W53 → Monday 2027-W01
    datetime(2028, 2, 28, 23, 0, tzinfo=HANGZHOU),  # leap day ahead
    datetime(2026, 6, 30, 23, 55, tzinfo=HANGZHOU),
]

OPS = [
    *["inspect"] * 4,
    "dropoff",
    "weighin",
    *["adjust"] * 2,
    *["reverse"] * 2,
    *["appeal"] * 2,
    "shift",
    "backfill",
    "redeem",
    "refund",
    *["advance"] * 2,
    *["edge"] * 2,
    "project",
]


@dataclass
class HouseholdRef:
    id: int
    account_id: int
    card_token: str
    compound_id: int
    building: str
    resident: Principal


@dataclass
class VolunteerRef:
    id: int
    member: Principal
    post_token: str


@dataclass
class BoardSite:
    community_id: int
    compound_ids: list[int]
    points: dict[int, str]  # compound → collection point token (open all day)
    households: list[HouseholdRef]
    volunteers: list[VolunteerRef]
    inspector: Principal
    clerk: Principal
    coordinator: Principal
    reward_id: int
    entries: list[int] = field(default_factory=list)
    inspections: list[int] = field(default_factory=list)
    redemptions: list[int] = field(default_factory=list)
    days: set[date] = field(default_factory=set)
    refusals: int = 0
    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)


def at_local(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


async def make_board_site(
    services: Services,
    rng: random.Random,
    *,
    compounds: int | None = None,
    households: int | None = None,
    volunteers: int | None = None,
) -> BoardSite:
    """A community with 1-3 compounds, a few households in a few buildings, volunteers."""
    n = next(_names)
    community_id = (
        await services.registry.create_community(SYSTEM, event_id(), f"测试社区{n}-{rng.random()}")
    ).id
    compound_ids: list[int] = []
    for c in range(compounds or rng.randint(1, 3)):
        compound_ids.append(
            (
                await services.registry.create_compound(
                    SYSTEM, event_id(), community_id, f"小区{n}-{c}"
                )
            ).id
        )
    points = {}
    for compound_id in compound_ids:
        point = await services.registry.create_point(SYSTEM, event_id(), compound_id, "全天点", [])
        points[compound_id] = point.token
    refs: list[HouseholdRef] = []
    for _ in range(households or rng.randint(2, 6)):
        compound_id = rng.choice(compound_ids)
        building = rng.choice(["1", "2", "10", "3"])
        household = await make_household(services, compound_id, building=building, unit="1")
        resident = await make_user(services, Role.RESIDENT, household_id=household.id)
        refs.append(
            HouseholdRef(
                household.id,
                household.account_id,
                household.card_token,
                compound_id,
                building,
                resident,
            )
        )
    scope = frozenset(compound_ids)
    vols: list[VolunteerRef] = []
    for v in range(volunteers if volunteers is not None else rng.randint(1, 3)):
        volunteer = await services.registry.create_volunteer(
            SYSTEM, event_id(), community_id, f"志愿者{n}{v}号"
        )
        member = await make_user(services, Role.VOLUNTEER, volunteer_id=volunteer.id)
        post = await services.registry.create_post(
            SYSTEM, event_id(), rng.choice(compound_ids), f"岗{v}"
        )
        vols.append(VolunteerRef(volunteer.id, member, post.token))
    reward = await services.catalog.create(
        SYSTEM, event_id(), community_id, RewardFields(name="环保袋", cost_points=3, stock=1000)
    )
    return BoardSite(
        community_id=community_id,
        compound_ids=compound_ids,
        points=points,
        households=refs,
        volunteers=vols,
        inspector=await make_user(services, Role.INSPECTOR, compound_ids=scope),
        clerk=await make_user(services, Role.CLERK, compound_ids=scope),
        coordinator=await make_user(services, Role.COORDINATOR, compound_ids=scope),
        reward_id=reward.id,
    )


async def step(
    services: Services, site: BoardSite, clock: FrozenClock, op: str, rng: random.Random
) -> None:
    """One operation of the workload; a refusal by the ledger is counted, not raised."""
    site.days.add(local_day(clock.now()))
    try:
        did = await _step(services, site, clock, op, rng)
    except LedgerError as refusal:
        site.refusals += 1
        site.refused[f"{op}: {refusal.code}"] += 1
    else:
        site.done[op if did else f"{op} (nothing to do)"] += 1
    site.days.add(local_day(clock.now()))


async def _step(
    services: Services, site: BoardSite, clock: FrozenClock, op: str, rng: random.Random
) -> bool:
    household = rng.choice(site.households)
    if op == "inspect":
        graded = await services.gradings.inspect(
            site.inspector,
            Grading(
                event_id("insp"),
                household.card_token,
                site.points[household.compound_id],
                rng.choice(list(Stream)),
                rng.choice(list(Grade)),
                [],
                None,
            ),
        )
        site.inspections.append(graded.inspection_id)
        if graded.entry_id is not None:
            site.entries.append(graded.entry_id)
    elif op == "dropoff":
        point = site.points[rng.choice(site.compound_ids)]
        await services.scans.dropoff(household.resident, event_id("drop"), point)
    elif op == "weighin":
        result = await services.scans.weighin(
            site.clerk,
            event_id("weigh"),
            household.card_token,
            rng.choice(list(Material)),
            rng.randint(1, 3000),
        )
        if result.entry_id is not None:
            site.entries.append(result.entry_id)
    elif op == "adjust":
        amount = rng.choice([-1, 1]) * rng.randint(1, 40)
        result = await services.accounts.adjust(
            SYSTEM, event_id("adj"), household.account_id, amount, "调整"
        )
        site.entries.append(result.entry_id)
    elif op == "reverse" and site.entries:
        result = await services.accounts.reverse(
            SYSTEM, event_id("rev"), rng.choice(site.entries), "冲正"
        )
        site.entries.append(result.entry_id)
    elif op == "appeal" and site.inspections:
        await _appeal(services, site, rng)
    elif op == "shift" and site.volunteers:
        await _shift(services, site, clock, rng)
    elif op == "backfill" and site.volunteers:
        volunteer = rng.choice(site.volunteers)
        day = local_day(clock.now()) - timedelta(days=rng.choice([0, 0, 1, 2, 15, 40]))
        await services.shifts.backfill(
            site.coordinator,
            event_id("fill"),
            volunteer_id=volunteer.id,
            compound_id=rng.choice(site.compound_ids),
            day=day,
            minutes=rng.randint(1, 300),
            note="纸质签到表",
        )
    elif op == "redeem":
        result = await services.spending.redeem(
            site.clerk, event_id("redeem"), household.card_token, site.reward_id, 1
        )
        site.redemptions.append(result.redemption_id)
    elif op == "refund" and site.redemptions:
        await services.spending.refund(
            site.clerk, event_id("refund"), rng.choice(site.redemptions), "退回"
        )
    elif op == "advance":
        clock.advance(minutes=rng.choice([1, 7, 45, 120, 300, 700]))
    elif op == "edge":
        clock.moment = next_edge(clock.now(), rng)
    elif op == "project":
        await services.sealer.seal_all()
        if services.projector is not None:
            await services.projector.catch_up()
    else:
        return False
    return True


async def _appeal(services: Services, site: BoardSite, rng: random.Random) -> None:
    inspection_id = rng.choice(site.inspections)
    row = (
        await Inspection.select(Inspection.household).where(Inspection.id == inspection_id).first()
    )
    owner = next(h for h in site.households if h.id == row["household"])
    opened = await services.appeals.open(owner.resident, event_id("appeal"), inspection_id, "不服")
    upheld = rng.random() < 0.8
    await services.appeals.decide(
        site.coordinator,
        event_id("decide"),
        opened.appeal_id,
        upheld,
        rng.choice(list(Grade)) if upheld else None,
    )


async def _shift(
    services: Services, site: BoardSite, clock: FrozenClock, rng: random.Random
) -> None:
    volunteer = rng.choice(site.volunteers)
    await services.shifts.check_in(volunteer.member, event_id("in"), volunteer.post_token)
    clock.advance(minutes=rng.choice([10, 15, 47, 60, 125, 240, 540]))
    closed = await services.shifts.check_out(
        volunteer.member, event_id("out"), volunteer.post_token
    )
    if closed.status == "pending":
        await services.shifts.decide(
            site.coordinator, event_id("approve"), [closed.shift_id], rng.random() < 0.8
        )


def next_edge(now: datetime, rng: random.Random) -> datetime:
    """The next local midnight, 16th, 1st of a month or Monday, or a breath before one."""
    today = local_day(now)
    candidates = [today + timedelta(days=1)]
    candidates.append(today.replace(day=16) if today.day < 16 else _first_of_next_month(today))
    candidates.append(_first_of_next_month(today))
    candidates.append(today + timedelta(days=7 - today.weekday()))
    day = rng.choice(candidates)
    midnight = datetime(day.year, day.month, day.day, tzinfo=HANGZHOU).astimezone(UTC)
    offset = rng.choice(
        [timedelta(0), timedelta(microseconds=-1), timedelta(seconds=-1), timedelta(seconds=1)]
    )
    return max(midnight + offset, now + timedelta(microseconds=1))


def _first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


# --- comparing Redis with SQL ------------------------------------------------------------------


async def scopes_of(site: BoardSite) -> list[tuple[Board, int]]:
    scoped: list[tuple[Board, int]] = []
    for board in Board:
        if board in (Board.HOUSEHOLDS, Board.BUILDINGS):
            scoped += [(board, compound_id) for compound_id in site.compound_ids]
        else:
            scoped.append((board, site.community_id))
    return scoped


async def assert_answers_equal(
    redis_boards: RedisBoards, site: BoardSite, days: list[date], *, limit: int = 100
) -> int:
    """Every board, period and day: the Redis answer equals the SQL one but for `source`."""
    cached, truth = Boards(redis_boards), Boards(None)
    compared = 0
    for day in days:
        for board, scope_id in await scopes_of(site):
            for period in Period:
                from_redis = await cached.leaderboard(board, period, scope_id, limit, day)
                from_sql = await truth.leaderboard(board, period, scope_id, limit, day)
                assert (from_redis.source, from_sql.source) == ("redis", "sql")
                assert replace(from_redis, source="sql") == from_sql, (board, period, scope_id, day)
                compared += 1
        half = half_month_day(
            f"{day:%Y-%m}-{1 if day.day <= 15 else 2}"
        )  # the same half-month, named
        from_redis = await cached.redblack(site.community_id, half)
        from_sql = await truth.redblack(site.community_id, half)
        assert (from_redis.source, from_sql.source) == ("redis", "sql")
        assert replace(from_redis, source="sql") == from_sql, ("redblack", day)
    return compared


def summary(site: BoardSite) -> dict[str, Any]:
    return {
        "households": len(site.households),
        "entries": len(site.entries),
        "inspections": len(site.inspections),
        "days": len(site.days),
        "refusals": site.refusals,
    }
