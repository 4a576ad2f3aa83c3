"""Shops and offices (issue 15, item 4): units of another kind in the one household table,
graded with their kind's rule values, on their street's or building's board (Redis and SQL
alike), in the reports as their own rows, bulk-loaded by name, spending as households do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.errors import LedgerError
from ledger.domain.leaderboard import Board, Period
from ledger.domain.localtime import local_day
from ledger.domain.registry import CompoundKind, HouseholdKind
from ledger.domain.rules import Grade, Stream
from ledger.services import grading, reports
from ledger.services.boards import Boards, differences
from ledger.services.bulk_load import BulkLoadRejected, load_csv
from ledger.services.container import Services
from ledger.services.grading import Graded, Grading
from ledger.services.registry import HouseholdCreated, HouseholdRequest
from ledger.store.tables import Household
from tests.conftest import REDIS_URL
from tests.factories import FrozenClock, event_id, make_household, make_user

# Shops: 20 a good grade, at most 50 a day; offices have no values of their own.
RULES = {
    "grade_points_by_kind": {"shop": {"good": 20, "fair": 8, "poor": 0}},
    "grading_daily_cap_points_by_kind": {"shop": 50},
}
ALL_DAY = ["00:00-24:00"]


@dataclass(frozen=True)
class Town:
    community_id: int
    compound_id: int  # residential
    street_id: int  # a shop street
    tower_id: int  # an office building
    household: HouseholdCreated
    noodles: HouseholdCreated  # a shop
    tea: HouseholdCreated  # a shop
    lawyers: HouseholdCreated  # an office
    points: dict[int, str]  # compound id → its collection point's token
    inspector: Principal


async def _town(services: Services, community_name: str = "卖鱼桥社区") -> Town:
    registry = services.registry
    community = (await registry.create_community(SYSTEM, event_id(), community_name)).id
    await services.rules.set(SYSTEM, event_id(), community, services.clock.now(), RULES)

    async def compound(name: str, kind: CompoundKind) -> int:
        created = await registry.create_compound(SYSTEM, event_id(), community, name, kind)
        assert created.kind == kind
        return int(created.id)

    async def unit(compound_id: int, kind: HouseholdKind, name: str) -> HouseholdCreated:
        request = HouseholdRequest(compound_id, kind=kind, name=name)
        return await registry.create_household(SYSTEM, event_id(), request)

    compound_id = await compound("信义坊", CompoundKind.RESIDENTIAL)
    street_id = await compound("胜利河美食街", CompoundKind.SHOP_STREET)
    tower_id = await compound("湖墅大厦", CompoundKind.OFFICE_BUILDING)
    household = await make_household(services, compound_id, building="3", room="301")
    noodles = await unit(street_id, HouseholdKind.SHOP, "胜利河面馆")
    tea = await unit(street_id, HouseholdKind.SHOP, "运河茶馆")
    lawyers = await unit(tower_id, HouseholdKind.OFFICE, "湖墅律师事务所")
    points = {
        place: (
            await registry.create_point(SYSTEM, event_id(), place, f"{place}号点", ALL_DAY)
        ).token
        for place in (compound_id, street_id, tower_id)
    }
    scope = frozenset({compound_id, street_id, tower_id})
    inspector = await make_user(services, Role.INSPECTOR, compound_ids=scope)
    return Town(
        community,
        compound_id,
        street_id,
        tower_id,
        household,
        noodles,
        tea,
        lawyers,
        points,
        inspector,
    )


async def _grade(
    services: Services, town: Town, unit: HouseholdCreated, stream: Stream, grade: Grade
) -> Graded:
    row = await Household.select(Household.compound).where(Household.id == unit.id).first()
    assert row is not None
    return await services.gradings.inspect(
        town.inspector,
        Grading(
            event_id(),
            unit.card_token,
            town.points[int(row["compound"])],
            stream,
            grade,
            [],
            None,
        ),
    )


async def test_a_shop_is_graded_with_its_kind_s_values_others_with_the_plain_ones(
    services: Services,
) -> None:
    town = await _town(services)
    shop = await _grade(services, town, town.noodles, Stream.KITCHEN, Grade.GOOD)
    household = await _grade(services, town, town.household, Stream.KITCHEN, Grade.GOOD)
    office = await _grade(services, town, town.lawyers, Stream.KITCHEN, Grade.GOOD)
    fair = await _grade(services, town, town.tea, Stream.KITCHEN, Grade.FAIR)
    assert [shop.points_awarded, household.points_awarded, office.points_awarded] == [
        20,
        10,
        10,
    ]
    assert fair.points_awarded == 8
    assert shop.balance_points == 20


async def test_a_shop_s_daily_cap_is_its_kind_s(services: Services) -> None:
    town = await _town(services)
    shop = [
        (await _grade(services, town, town.noodles, stream, Grade.GOOD)).points_awarded
        for stream in Stream
    ]
    household = [
        (await _grade(services, town, town.household, stream, Grade.GOOD)).points_awarded
        for stream in Stream
    ]
    assert shop == [20, 20, 10, 0]  # cap 50
    assert household == [10, 10, 10, 0]  # cap 30, the default


async def test_an_upheld_appeal_regrades_a_shop_with_its_kind_s_values(
    services: Services,
) -> None:
    town = await _town(services)
    graded = await _grade(services, town, town.noodles, Stream.KITCHEN, Grade.FAIR)
    member = await make_user(services, Role.RESIDENT, household_id=town.noodles.id)
    appeal = await services.appeals.open(member, event_id(), graded.inspection_id, "分得很好")
    coordinator = await make_user(
        services, Role.COORDINATOR, compound_ids=frozenset({town.street_id})
    )
    await services.appeals.decide(coordinator, event_id(), appeal.appeal_id, True, Grade.GOOD)
    account = await services.accounts.account(SYSTEM, town.noodles.account_id)
    assert account.balance_points == 20  # 8 reversed, 20 credited


async def test_a_shop_redeems_and_pays_as_a_household_does(services: Services) -> None:
    town = await _town(services)
    await _grade(services, town, town.noodles, Stream.KITCHEN, Grade.GOOD)
    clerk = await make_user(services, Role.CLERK, compound_ids=frozenset({town.street_id}))
    merchant = await services.registry.create_merchant(
        SYSTEM, event_id(), town.community_id, "便民超市"
    )
    paid = await services.spending.pay(clerk, event_id(), town.noodles.card_token, merchant.id, 5)
    assert paid.balance_points == 15
    reward = await services.registry.create_reward(
        SYSTEM, event_id(), town.community_id, "环保袋", 10, 5, None
    )
    redeemed = await services.spending.redeem(
        clerk, event_id(), town.noodles.card_token, reward.id, 1
    )
    assert redeemed.balance_points == 5


async def test_the_report_gives_the_street_and_the_building_rows_of_their_own(
    services: Services,
) -> None:
    town = await _town(services)
    await _grade(services, town, town.noodles, Stream.KITCHEN, Grade.GOOD)
    await _grade(services, town, town.tea, Stream.KITCHEN, Grade.POOR)
    await _grade(services, town, town.household, Stream.KITCHEN, Grade.GOOD)
    day = local_day(services.clock.now())
    report = await reports.compound_report(town.community_id, day, day)
    rows = {row.compound: msgspec.to_builtins(row) for row in report.rows}
    street, compound, tower = rows["胜利河美食街"], rows["信义坊"], rows["湖墅大厦"]
    assert (street["kind"], compound["kind"], tower["kind"]) == (
        "shop_street",
        "residential",
        "office_building",
    )
    assert (street["households"], street["grades"], street["good_grades"]) == (2, 2, 1)
    assert (street["points_issued"], street["participation_rate"]) == (20, "100.0%")
    assert (compound["households"], compound["points_issued"]) == (1, 10)
    assert (tower["households"], tower["grades"]) == (1, 0)


async def test_units_load_by_name_into_compounds_of_their_kind_only(
    services: Services, tmp_path: Path
) -> None:
    town = await _town(services)
    shops = tmp_path / "shops.csv"
    shops.write_text(f"compound_id,name\n{town.street_id},老杭州饭店\n{town.street_id},奶茶店\n")
    assert await load_csv(services, "shops", shops) == 2
    rows = await Household.select(Household.name, Household.kind, Household.building).where(
        Household.compound == town.street_id
    )
    assert sorted((r["name"], r["kind"], r["building"]) for r in rows) == [
        ("奶茶店", "shop", ""),
        ("老杭州饭店", "shop", ""),
        ("胜利河面馆", "shop", ""),
        ("运河茶馆", "shop", ""),
    ]
    before = await Household.count()
    misfits = tmp_path / "misfits.csv"
    misfits.write_text(
        f"compound_id,name\n{town.compound_id},小卖部\n{town.street_id},胜利河面馆\n"
        f"{town.tower_id},外卖店\n"
    )
    with pytest.raises(BulkLoadRejected) as caught:
        await load_csv(services, "shops", misfits)
    problems = [(p.line, p.message) for p in caught.value.problems]
    assert problems == [
        (2, "compound_id: compound kind residential holds units of kind household only"),
        (3, f"胜利河面馆 is already registered in compound {town.street_id}"),
        (4, "compound_id: compound kind office_building holds units of kind office only"),
    ]
    flats = tmp_path / "flats.csv"
    flats.write_text(f"compound_id,building,unit,room\n{town.street_id},1,1,101\n")
    with pytest.raises(BulkLoadRejected) as caught:
        await load_csv(services, "households", flats)
    assert caught.value.problems[0].message.startswith("compound_id: compound kind shop_street")
    assert await Household.count() == before
    offices = tmp_path / "offices.csv"
    offices.write_text(f"compound_id,name\n{town.tower_id},远洋科技公司\n")
    assert await load_csv(services, "offices", offices) == 1
    office = await Household.select().where(Household.name == "远洋科技公司").first()
    assert office is not None
    assert (office["kind"], office["compound"]) == ("office", town.tower_id)


# --- a batch of gradings: the same outcomes as one by one -------------------------------------


def _gradings(town: Town, prefix: str) -> list[Grading]:
    """Every unit graded on several streams, some twice (unscored), the shop past its cap."""
    steps = [
        (town.noodles, Stream.KITCHEN, Grade.GOOD),
        (town.household, Stream.KITCHEN, Grade.GOOD),
        (town.noodles, Stream.RECYCLABLE, Grade.GOOD),
        (town.tea, Stream.KITCHEN, Grade.FAIR),
        (town.noodles, Stream.KITCHEN, Grade.POOR),  # already graded: recorded, earns 0
        (town.lawyers, Stream.OTHER, Grade.GOOD),
        (town.noodles, Stream.HAZARDOUS, Grade.GOOD),  # 40 + 20 > 50: cut to 10
        (town.household, Stream.RECYCLABLE, Grade.FAIR),
        (town.noodles, Stream.OTHER, Grade.GOOD),  # at the cap: 0
        (town.household, Stream.KITCHEN, Grade.POOR),  # already graded: earns 0
    ]
    compound_of = {
        town.noodles.id: town.street_id,
        town.tea.id: town.street_id,
        town.lawyers.id: town.tower_id,
        town.household.id: town.compound_id,
    }
    return [
        Grading(
            event_id=f"{prefix}-{n}",
            household_token=unit.card_token,
            point_token=town.points[compound_of[unit.id]],
            stream=stream,
            grade=grade,
            reasons=[],
            photo_ref=None,
        )
        for n, (unit, stream, grade) in enumerate(steps)
    ]


def _shape(outcome: Any) -> Any:
    if isinstance(outcome, LedgerError):
        return ("refused", outcome.code)
    return {k: v for k, v in outcome.record().items() if k not in ("inspection_id", "entry_id")}


async def test_a_batch_grades_shops_and_offices_as_one_by_one(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = await _town(services, "甲社区"), await _town(services, "乙社区")

    async def no_fallback(*_: object) -> None:
        raise AssertionError("the group went one by one")

    monkeypatch.setattr(grading.Gradings, "_alone", no_fallback)
    together = await services.gradings.inspect_many(a.inspector, _gradings(a, "a"))
    monkeypatch.undo()
    alone: list[Any] = []
    for g in _gradings(b, "b"):
        try:
            alone.append(
                await services.gradings.inspect(
                    b.inspector,
                    Grading(
                        g.event_id,
                        g.household_token,
                        g.point_token,
                        g.stream,
                        g.grade,
                        g.reasons,
                        g.photo_ref,
                    ),
                )
            )
        except LedgerError as refusal:
            alone.append(refusal)
    assert [_shape(o) for o in together] == [_shape(o) for o in alone]
    points = [o.points_awarded for o in together]
    assert points == [20, 10, 20, 8, 0, 10, 10, 5, 0, 0]
    for town in (a, b):
        balances = [
            (await services.accounts.account(SYSTEM, unit.account_id)).balance_points
            for unit in (town.noodles, town.tea, town.lawyers, town.household)
        ]
        assert balances == [50, 8, 10, 15]


# --- boards: Redis and SQL -------------------------------------------------------------------


@pytest.fixture
async def with_redis(services: Services, redis: Redis) -> AsyncIterator[Services]:
    built = Services.build(
        services.codes.keyring,
        "http://testserver",
        clock=services.clock,
        redis=Redis.from_url(REDIS_URL),
        redis_prefix=f"glunits{uuid.uuid4().hex[:8]}",
    )
    yield built
    assert built.projector is not None
    await built.projector.boards.clear()
    await built.projector.boards.redis.aclose()


async def _board(
    services: Services, board: Board, scope_id: int, day: date
) -> dict[str, list[tuple[str, int, int]]]:
    """A month's board from Redis and from SQL: (label, rank, value) of each item."""
    assert services.projector is not None
    await services.sealer.seal_all()
    await services.projector.catch_up()
    answers = {}
    for source, boards in (("redis", services.boards), ("sql", Boards(None))):
        body = await boards.leaderboard(board, Period.MONTH, scope_id, 10, day)
        assert body.source == source
        answers[source] = [(i.label, i.rank, i.value) for i in body.items]
    return answers


@pytest.mark.redis
async def test_a_shop_tops_its_street_s_board_by_name(
    with_redis: Services, clock: FrozenClock
) -> None:
    services = with_redis
    clock.moment = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    day = local_day(clock.now())
    town = await _town(services)
    await _grade(services, town, town.tea, Stream.KITCHEN, Grade.FAIR)
    await _grade(services, town, town.noodles, Stream.KITCHEN, Grade.GOOD)
    await _grade(services, town, town.noodles, Stream.RECYCLABLE, Grade.GOOD)
    await _grade(services, town, town.household, Stream.KITCHEN, Grade.GOOD)
    await _grade(services, town, town.lawyers, Stream.KITCHEN, Grade.GOOD)
    street = await _board(services, Board.HOUSEHOLDS, town.street_id, day)
    assert street["redis"] == street["sql"] == [("胜利河面馆", 1, 40), ("运河茶馆", 2, 8)]
    tower = await _board(services, Board.HOUSEHOLDS, town.tower_id, day)
    assert tower["redis"] == tower["sql"] == [("湖墅律师事务所", 1, 10)]
    compound = await _board(services, Board.HOUSEHOLDS, town.compound_id, day)
    assert compound["redis"] == compound["sql"] == [("3幢2单元***室", 1, 10)]
    # Shops and offices have no building: the buildings board of a street is empty.
    buildings = await _board(services, Board.BUILDINGS, town.street_id, day)
    assert buildings["redis"] == buildings["sql"] == []
    assert services.projector is not None
    assert await differences(services.projector.boards, day) == []
