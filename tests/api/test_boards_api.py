"""Leaderboards, the red/black list, reports, charts and /health through HTTP.

A small, known workload is written before the app starts (through the services, with a frozen
clock, on a pool that is closed again: the app's pool belongs to the app's own event loop),
and then read through the API with Redis (projected first) and without it; both must give the
figures worked out by hand below.

2026-11-25 (Hangzhou), community 卖鱼桥社区:
  信义坊 (3 households)  h1 3-2-1703: kitchen good, recyclable good   = 20 points
                         h2 3-2-2906: kitchen fair, 50 g of paper      = 10 points
                                      (+5 adjustment: not earned, on no board)
                         h3 5-1-1101: kitchen good                     = 10 points
                         h1 redeems 2 × 3 points                       (not on the boards)
  和平里 (3 households)  h4 1-1-1201: kitchen poor, recyclable good   = 10 points
                         h5 2-1-1202: kitchen good                     = 10 points (+7 adjusted
                                                                         in 2024: on no board)
                         h7 2-1-1208: nothing
  大关苑 (1 household)   h6 7-3-1701: nothing
  volunteers (back-filled): 朱秀娟 120 min and 王芳 120 min at 信义坊, 李明 60 min at 和平里
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient
from piccolo.engine.sqlite import SQLiteEngine
from redis.asyncio import Redis

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import SYSTEM, Role
from ledger.domain.rules import Grade, Material, Stream
from ledger.services import boards as boards_service
from ledger.services import users
from ledger.services.catalog import RewardFields
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.services.registry import HouseholdRequest
from ledger.services.users import LoginRequest
from ledger.store.engine import current_engine
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    Headers,
    assert_error,
    make_user,
    sign_in,
)
from tests.conftest import DATABASE_URL, EMPTY_TABLES, REDIS_UP, REDIS_URL, REQUIRE_SERVICES
from tests.factories import TEST_SECRET_KEY, FrozenClock, event_id
from tests.factories import make_user as make_principal

Client = AsyncTestClient[Any]
HANGZHOU = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 25)
ROOMS = ["1703", "2906", "1101", "1201", "1202", "1208", "1701"]
VOLUNTEER_NAMES = ["朱秀娟", "李明", "王芳"]
SETTINGS = Settings(
    database_url=DATABASE_URL,
    secret_key=TEST_SECRET_KEY,
    base_url="http://testserver",
    run_sealer=False,
    rate_limit_per_minute=0,
)


def hangzhou(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=HANGZHOU).astimezone(UTC)


@dataclass(frozen=True)
class Known:
    community_id: int
    compounds: dict[str, int]  # name → id
    households: dict[str, int]  # h1… → id
    volunteers: dict[str, int]  # name → id
    redblack_community_id: int
    redblack_compounds: dict[str, int]


async def _build(services: Services, clock: FrozenClock) -> Known:
    registry = services.registry
    clock.moment = hangzhou(2024, 6, 1, 9)
    community_id = (await registry.create_community(SYSTEM, event_id(), "卖鱼桥社区")).id
    compounds = {
        name: (await registry.create_compound(SYSTEM, event_id(), community_id, name)).id
        for name in ("信义坊", "和平里", "大关苑")
    }
    addresses = {
        "h1": ("信义坊", "3", "2", "1703"),
        "h2": ("信义坊", "3", "2", "2906"),
        "h3": ("信义坊", "5", "1", "1101"),
        "h4": ("和平里", "1", "1", "1201"),
        "h5": ("和平里", "2", "1", "1202"),
        "h6": ("大关苑", "7", "3", "1701"),
        "h7": ("和平里", "2", "1", "1208"),
    }
    households = {
        key: await registry.create_household(
            SYSTEM, event_id(), HouseholdRequest(compounds[compound], building, unit, room)
        )
        for key, (compound, building, unit, room) in addresses.items()
    }
    # 2024: h5 earns 7 points that expire at the end of 2025.
    await services.accounts.adjust(SYSTEM, event_id(), households["h5"].account_id, 7, "旧积分")

    clock.moment = hangzhou(2026, 11, 25, 10)
    every = frozenset(compounds.values())
    inspector = await make_principal(services, Role.INSPECTOR, compound_ids=every)
    clerk = await make_principal(services, Role.CLERK, compound_ids=every)
    coordinator = await make_principal(services, Role.COORDINATOR, compound_ids=every)
    points = {
        name: await registry.create_point(SYSTEM, event_id(), cid, "1号点", [])
        for name, cid in compounds.items()
    }
    grades = [
        ("h1", "信义坊", Stream.KITCHEN, Grade.GOOD),
        ("h1", "信义坊", Stream.RECYCLABLE, Grade.GOOD),
        ("h2", "信义坊", Stream.KITCHEN, Grade.FAIR),
        ("h3", "信义坊", Stream.KITCHEN, Grade.GOOD),
        ("h4", "和平里", Stream.KITCHEN, Grade.POOR),
        ("h4", "和平里", Stream.RECYCLABLE, Grade.GOOD),
        ("h5", "和平里", Stream.KITCHEN, Grade.GOOD),
    ]
    for key, compound, stream, grade in grades:
        await services.gradings.inspect(
            inspector,
            Grading(
                event_id(),
                households[key].card_token,
                points[compound].token,
                stream,
                grade,
                [] if grade is Grade.GOOD else ["wrong_bin"],
                None,
            ),
        )
    await services.accounts.adjust(SYSTEM, event_id(), households["h2"].account_id, 5, "补录")
    await services.scans.weighin(clerk, event_id(), households["h2"].card_token, Material.PAPER, 50)
    # A weigh-in of 0 points (5 g of glass) changes nothing anywhere.
    await services.scans.weighin(clerk, event_id(), households["h7"].card_token, Material.GLASS, 5)
    reward = await services.catalog.create(
        SYSTEM, event_id(), community_id, RewardFields(name="环保袋", cost_points=3, stock=50)
    )
    await services.spending.redeem(clerk, event_id(), households["h1"].card_token, reward.id, 2)
    expired = await services.expiry.run(date(2026, 1, 1))
    assert expired.expired_points == 7
    volunteers = {
        name: (await registry.create_volunteer(SYSTEM, event_id(), community_id, name)).id
        for name in VOLUNTEER_NAMES
    }
    for name, compound, minutes in (("朱秀娟", "信义坊", 120), ("李明", "和平里", 60)):
        await services.shifts.backfill(
            coordinator,
            event_id(),
            volunteer_id=volunteers[name],
            compound_id=compounds[compound],
            day=DAY,
            minutes=minutes,
            note="签到表",
        )
    await services.shifts.backfill(
        coordinator,
        event_id(),
        volunteer_id=volunteers["王芳"],
        compound_id=compounds["信义坊"],
        day=DAY,
        minutes=120,
        note="签到表",
    )
    redblack_community, redblack_compounds = await _redblack_world(services)
    return Known(
        community_id,
        compounds,
        {key: row.id for key, row in households.items()},
        volunteers,
        redblack_community,
        redblack_compounds,
    )


# For the red/black list: 12 compounds graded on 2026-11-25; the threshold is lowered to 4
# grades. Good grades out of the grades given, per compound:
REDBLACK = {
    "甲": (4, 4),
    "乙": (3, 4),
    "丙": (5, 5),
    "丁": (2, 4),
    "戊": (1, 4),
    "己": (0, 4),
    "庚": (3, 5),
    "辛": (4, 5),
    "壬": (2, 5),
    "癸": (1, 5),
    "子": (3, 3),  # 100% but only 3 grades: not ranked
    "丑": (4, 6),
}
REDBLACK_MIN = 4
FORMULA_NAME = '=HYPERLINK("http://evil.example/","点我")'


async def _redblack_world(services: Services) -> tuple[int, dict[str, int]]:
    registry = services.registry
    community_id = (await registry.create_community(SYSTEM, event_id(), "红黑榜社区")).id
    compounds: dict[str, int] = {}
    for name, (good, total) in REDBLACK.items():
        compound_id = (await registry.create_compound(SYSTEM, event_id(), community_id, name)).id
        compounds[name] = compound_id
        household = await registry.create_household(
            SYSTEM, event_id(), HouseholdRequest(compound_id, "1", "1", "1")
        )
        point = await registry.create_point(SYSTEM, event_id(), compound_id, "点", [])
        inspector = await make_principal(
            services, Role.INSPECTOR, compound_ids=frozenset({compound_id})
        )
        for n in range(total):
            await services.gradings.inspect(
                inspector,
                Grading(
                    event_id(),
                    household.card_token,
                    point.token,
                    list(Stream)[n % 4],
                    Grade.GOOD if n < good else Grade.POOR,
                    [] if n < good else ["wrong_bin"],
                    None,
                ),
            )
    # A name a spreadsheet would run as a formula; never graded.
    formula = await registry.create_compound(SYSTEM, event_id(), community_id, FORMULA_NAME)
    compounds[FORMULA_NAME] = formula.id
    return community_id, compounds


@dataclass(frozen=True)
class Town:
    client: Client
    admin: Headers
    known: Known
    source: str


@pytest.fixture(scope="module")
async def known(migrated: None) -> AsyncIterator[Known]:
    """The workload, written once for the module into a database of its own."""
    engine = current_engine()
    path = Path(DATABASE_URL).with_name(f"boards-api-{uuid.uuid4().hex[:10]}.sqlite")
    if isinstance(engine, SQLiteEngine):
        shutil.copyfile(DATABASE_URL, path)
        engine.path = str(path)
    else:
        await engine.run_ddl(EMPTY_TABLES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        clock = FrozenClock(hangzhou(2026, 11, 25, 10))
        services = Services.build(SETTINGS.keyring(), SETTINGS.base_url, clock=clock)
        await services.db.start()
        try:
            built = await _build(services, clock)
            await services.users.create(
                SYSTEM, event_id(), LoginRequest(ADMIN_USERNAME, ADMIN_PASSWORD, Role.ADMIN)
            )
        finally:
            await services.db.close()
    yield built
    if isinstance(engine, SQLiteEngine):
        engine.path = DATABASE_URL
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)


async def _project(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    services = Services.build(
        SETTINGS.keyring(), SETTINGS.base_url, redis=redis, redis_prefix=prefix
    )
    await services.db.start()
    try:
        assert services.projector is not None
        await services.sealer.seal_all()
        await services.projector.boards.clear()
        await services.projector.catch_up()
    finally:
        await services.db.close()
        await redis.aclose()


@pytest.fixture(scope="module", params=["sql", "redis"])
async def town(request: pytest.FixtureRequest, known: Known) -> AsyncIterator[Town]:
    """The app over the module's database, without Redis and then with it (projected)."""
    source = request.param
    if source == "redis" and not REDIS_UP:
        if REQUIRE_SERVICES:
            pytest.fail(
                "Redis is required (GREENLEDGER_REQUIRE_SERVICES=1) but 127.0.0.1:6379 is down"
            )
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"glapi{uuid.uuid4().hex[:10]}"
    redis_url = REDIS_URL if source == "redis" else None
    if redis_url:
        await _project(prefix)
    clock = FrozenClock(hangzhou(2026, 11, 25, 20))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(boards_service, "REDBLACK_MIN_GRADED", REDBLACK_MIN)
        settings = dataclasses.replace(SETTINGS, redis_url=redis_url, redis_prefix=prefix)
        async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
            admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
            yield Town(client, admin, known, source)
    if redis_url:
        cleanup = Redis.from_url(redis_url)
        async for key in cleanup.scan_iter(match=f"{prefix}:*"):
            await cleanup.delete(key)
        await cleanup.aclose()


async def board(town: Town, **params: Any) -> dict[str, Any]:
    response = await town.client.get("/api/v1/leaderboards", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["source"] == town.source
    return body


def ranked(body: dict[str, Any]) -> list[tuple[int, str, Any]]:
    return [(item["rank"], item["label"], item["value"]) for item in body["items"]]


# --- leaderboards ----------------------------------------------------------------------------


async def test_households_in_a_compound_rank_by_points_with_ties_by_id(town: Town) -> None:
    known = town.known
    body = await board(
        town, board="households", period="day", scope_id=known.compounds["信义坊"], day=DAY
    )
    assert (body["board"], body["period"], body["bucket"]) == ("households", "day", "2026-11-25")
    assert ranked(body) == [
        (1, "3幢2单元****室", 20),
        (2, "3幢2单元****室", 10),
        (2, "5幢1单元****室", 10),
    ]
    assert [item["id"] for item in body["items"]] == [
        str(known.households[key]) for key in ("h1", "h2", "h3")
    ]
    limited = await board(
        town,
        board="households",
        period="day",
        scope_id=known.compounds["信义坊"],
        day=DAY,
        limit=2,
    )
    assert ranked(limited) == ranked(body)[:2]


@pytest.mark.parametrize(
    ("period", "bucket"),
    [
        ("day", "2026-11-25"),
        ("week", "2026-W48"),
        ("half_month", "2026-11-2"),
        ("month", "2026-11"),
        ("year", "2026"),
        ("all", "all"),
    ],
)
async def test_every_period_of_every_board_answers(town: Town, period: str, bucket: str) -> None:
    known = town.known
    compound = known.compounds["和平里"]
    households = await board(town, board="households", period=period, scope_id=compound, day=DAY)
    # h5's 7 points adjusted in 2024 count in no period, all time included: boards count
    # points earned, never adjustments.
    assert sorted((item["id"], item["value"]) for item in households["items"]) == sorted(
        [(str(known.households["h4"]), 10), (str(known.households["h5"]), 10)]
    )
    assert households["bucket"] == bucket
    buildings = await board(town, board="buildings", period=period, scope_id=compound, day=DAY)
    assert ranked(buildings) == [(1, "1幢", 10), (1, "2幢", 10)]  # a tie, by building number
    # A plain number has no counts behind it: its line leaves them out.
    assert all(set(i) == {"rank", "id", "label", "value"} for i in buildings["items"])
    accuracy = await board(
        town, board="compounds_accuracy", period=period, scope_id=known.community_id, day=DAY
    )
    assert [
        (i["rank"], i["label"], i["value"], i["numerator"], i["denominator"])
        for i in accuracy["items"]
    ] == [(1, "信义坊", "75.0%", 3, 4), (2, "和平里", "66.7%", 2, 3)]
    participation = await board(
        town,
        board="compounds_participation",
        period=period,
        scope_id=known.community_id,
        day=DAY,
    )
    assert [
        (i["rank"], i["label"], i["value"], i["numerator"], i["denominator"])
        for i in participation["items"]
    ] == [(1, "信义坊", "100.0%", 3, 3), (2, "和平里", "66.7%", 2, 3)]
    volunteers = await board(
        town, board="volunteers_hours", period=period, scope_id=known.community_id, day=DAY
    )
    assert ranked(volunteers) == [(1, "朱**", 120), (1, "王*", 120), (3, "李*", 60)]


async def test_a_period_that_does_not_contain_the_activity_is_empty(town: Town) -> None:
    known = town.known
    for board_name, scope in (
        ("households", known.compounds["信义坊"]),
        ("compounds_accuracy", known.community_id),
        ("volunteers_hours", known.community_id),
    ):
        body = await board(town, board=board_name, period="day", scope_id=scope, day="2026-11-24")
        assert body["items"] == []
        body = await board(
            town, board=board_name, period="half_month", scope_id=scope, day="2026-11-15"
        )
        assert body["items"] == []


async def test_the_default_period_is_the_month_of_the_apps_today(town: Town) -> None:
    body = await board(town, board="households", scope_id=town.known.compounds["信义坊"])
    assert (body["period"], body["bucket"]) == ("month", "2026-11")
    assert len(body["items"]) == 3


async def test_boards_are_public_and_never_show_names_or_room_numbers(town: Town) -> None:
    known = town.known
    texts: list[str] = []
    for board_name, scope in (
        ("households", known.compounds["信义坊"]),
        ("households", known.compounds["和平里"]),
        ("buildings", known.compounds["信义坊"]),
        ("volunteers_hours", known.community_id),
        ("compounds_accuracy", known.community_id),
    ):
        response = await town.client.get(
            "/api/v1/leaderboards",
            params={"board": board_name, "scope_id": scope, "period": "all"},
        )  # no Authorization header
        assert response.status_code == 200, response.text
        texts.append(response.text)
    text = "".join(texts)
    for room in ROOMS:
        assert room not in text
    for name in VOLUNTEER_NAMES:
        assert name not in text
    labels = [item["label"] for body in texts for item in json.loads(body)["items"]]
    assert all(
        re.fullmatch(r"\d+幢\d+单元\*+室|\d+幢|.\*+|信义坊|和平里", label) for label in labels
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"board": "households_points", "scope_id": 1}, "board"),
        ({"board": "households", "scope_id": 1, "period": "quarter"}, "period"),
        ({"board": "households", "scope_id": 1, "limit": 0}, "limit"),
        ({"board": "households", "scope_id": 1, "limit": 101}, "limit"),
        ({"board": "households", "scope_id": 1, "limit": "ten"}, "limit"),
        ({"board": "households", "scope_id": 0}, "scope_id"),
        ({"board": "households"}, "scope_id"),
        ({"scope_id": 1}, "board"),
        ({"board": "households", "scope_id": 1, "day": "2026-02-30"}, "day"),
        ({"board": "households", "scope_id": 1, "day": "25/11/2026"}, "day"),
    ],
)
async def test_a_bad_board_period_limit_or_day_is_400(
    town: Town, params: dict[str, Any], field: str
) -> None:
    response = await town.client.get("/api/v1/leaderboards", params=params)
    assert response.status_code == 400, response.text
    assert field in response.text


@pytest.mark.parametrize(
    ("board_name", "kind"),
    [
        ("households", "compound"),
        ("buildings", "compound"),
        ("compounds_accuracy", "community"),
        ("volunteers_hours", "community"),
    ],
)
async def test_an_unknown_scope_is_404(town: Town, board_name: str, kind: str) -> None:
    response = await town.client.get(
        "/api/v1/leaderboards", params={"board": board_name, "scope_id": 987654}
    )
    assert_error(response, 404, "not_found")
    assert kind in response.json()["detail"]


# --- red/black list --------------------------------------------------------------------------


async def test_the_redblack_list_has_the_top_and_bottom_five_among_compounds_graded_enough(
    town: Town,
) -> None:
    known = town.known
    response = await town.client.get(
        "/api/v1/leaderboards/redblack",
        params={"community_id": known.redblack_community_id, "half_month": "2026-11-2"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == town.source
    assert (body["half_month"], body["min_graded"]) == ("2026-11-2", REDBLACK_MIN)
    red = [(i["rank"], i["label"], i["value"]) for i in body["red"]]
    black = [(i["rank"], i["label"], i["value"]) for i in body["black"]]
    # 甲 and 丙 100%, 辛 80%, 乙 75%, 丑 66.7%; 子 (100%, 3 grades) is not ranked.
    assert red == [
        (1, "甲", "100.0%"),
        (1, "丙", "100.0%"),
        (3, "辛", "80.0%"),
        (4, "乙", "75.0%"),
        (5, "丑", "66.7%"),
    ]
    # worst first: 己 0%, 癸 20%, 戊 25%, 壬 40%, 丁 50% (and 庚 60% is in neither list)
    assert black == [
        (1, "己", "0.0%"),
        (2, "癸", "20.0%"),
        (3, "戊", "25.0%"),
        (4, "壬", "40.0%"),
        (5, "丁", "50.0%"),
    ]
    assert "子" not in response.text
    assert "庚" not in response.text
    assert all(i["denominator"] >= REDBLACK_MIN for i in body["red"] + body["black"])


async def test_the_redblack_list_of_another_half_month_is_empty(town: Town) -> None:
    for half in ("2026-11-1", "2026-12-1", "2025-11-2"):
        response = await town.client.get(
            "/api/v1/leaderboards/redblack",
            params={"community_id": town.known.redblack_community_id, "half_month": half},
        )
        assert response.status_code == 200, response.text
        assert (response.json()["red"], response.json()["black"]) == ([], [])


async def test_the_redblack_list_defaults_to_the_current_half_month(town: Town) -> None:
    response = await town.client.get(
        "/api/v1/leaderboards/redblack",
        params={"community_id": town.known.redblack_community_id},
    )
    assert response.status_code == 200, response.text
    assert response.json()["half_month"] == "2026-11-2"
    assert len(response.json()["red"]) == 5


@pytest.mark.parametrize("half", ["2026-11-3", "2026-11-0", "2026-13-1", "2026-00-2", "2026-11"])
async def test_a_bad_half_month_is_400(town: Town, half: str) -> None:
    response = await town.client.get(
        "/api/v1/leaderboards/redblack",
        params={"community_id": town.known.redblack_community_id, "half_month": half},
    )
    assert response.status_code == 400, response.text
    assert "half_month" in response.text


async def test_the_redblack_list_of_an_unknown_community_is_404(town: Town) -> None:
    response = await town.client.get(
        "/api/v1/leaderboards/redblack", params={"community_id": 987654}
    )
    assert_error(response, 404, "not_found")


# --- reports ---------------------------------------------------------------------------------

EXPECTED_ROWS = {
    "信义坊": {
        "households": 3,
        "participating_households": 3,
        "participation_rate": "100.0%",
        "grades": 4,
        "good_grades": 3,
        "accuracy_rate": "75.0%",
        "points_issued": 45,
        "points_redeemed": 6,
        "points_expired": 0,
        "points_outstanding": 39,
        "volunteer_minutes": 240,
    },
    "和平里": {
        "households": 3,
        "participating_households": 2,
        "participation_rate": "66.7%",
        "grades": 3,
        "good_grades": 2,
        "accuracy_rate": "66.7%",
        "points_issued": 20,
        "points_redeemed": 0,
        "points_expired": 7,
        "points_outstanding": 20,
        "volunteer_minutes": 60,
    },
    "大关苑": {
        "households": 1,
        "participating_households": 0,
        "participation_rate": "0.0%",
        "grades": 0,
        "good_grades": 0,
        "accuracy_rate": "0.0%",
        "points_issued": 0,
        "points_redeemed": 0,
        "points_expired": 0,
        "points_outstanding": 0,
        "volunteer_minutes": 0,
    },
}


def _report_params(town: Town, **extra: Any) -> dict[str, Any]:
    return {"community_id": town.known.community_id, "from": "2026-11-25", "to": "2026-11-25"} | (
        extra
    )


async def test_the_compound_report_has_the_figures_worked_out_by_hand(town: Town) -> None:
    response = await town.client.get(
        "/api/v1/reports/compounds", params=_report_params(town), headers=town.admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-11-25", "2026-11-25")
    rows = {row["compound"]: row for row in body["rows"]}
    assert list(rows) == ["信义坊", "和平里", "大关苑"]
    for name, expected in EXPECTED_ROWS.items():
        assert {key: rows[name][key] for key in expected} == expected, name
        assert rows[name]["compound_id"] == town.known.compounds[name]
    assert [(r["name"], r["stock"], r["cost_points"]) for r in body["reward_stock"]] == [
        ("环保袋", 48, 3)
    ]


async def test_a_report_over_another_period_counts_only_that_period(town: Town) -> None:
    response = await town.client.get(
        "/api/v1/reports/compounds",
        params=_report_params(town, **{"from": "2024-01-01", "to": "2024-12-31"}),
        headers=town.admin,
    )
    assert response.status_code == 200, response.text
    rows = {row["compound"]: row for row in response.json()["rows"]}
    assert rows["和平里"]["points_issued"] == 7
    assert rows["和平里"]["points_outstanding"] == 7  # held at the end of 2024
    assert rows["和平里"]["grades"] == 0
    assert rows["信义坊"]["points_issued"] == 0


async def test_the_report_as_csv(town: Town) -> None:
    for params, headers in (
        (_report_params(town, format="csv"), town.admin),
        (_report_params(town), town.admin | {"Accept": "text/csv"}),
    ):
        response = await town.client.get(
            "/api/v1/reports/compounds", params=params, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.text.startswith("\ufeff")
        # A file name: the community and the dates (plain ASCII, and the Chinese by RFC 5987).
        community_id = town.known.community_id
        assert response.headers["content-disposition"] == (
            f'attachment; filename="compound-report-community-{community_id}_2026-11-25_'
            "2026-11-25.csv\"; filename*=UTF-8''"
            + quote("卖鱼桥社区_小区报表_2026-11-25_2026-11-25.csv", safe="")
        )
        rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
        assert [row["compound"] for row in rows] == ["信义坊", "和平里", "大关苑"]
        for row in rows:
            expected = EXPECTED_ROWS[row["compound"]]
            assert {key: row[key] for key in expected} == {
                key: str(value) for key, value in expected.items()
            }


async def test_a_name_that_looks_like_a_formula_stays_text_in_the_csv(town: Town) -> None:
    params = _report_params(town, community_id=town.known.redblack_community_id, format="csv")
    response = await town.client.get("/api/v1/reports/compounds", params=params, headers=town.admin)
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    names = [row["compound"] for row in rows]
    assert "'" + FORMULA_NAME in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)
    assert all(row["points_issued"].lstrip("-").isdigit() for row in rows)  # numbers untouched
    # JSON keeps the name as it is.
    params.pop("format")
    response = await town.client.get("/api/v1/reports/compounds", params=params, headers=town.admin)
    assert FORMULA_NAME in [row["compound"] for row in response.json()["rows"]]


async def test_reports_are_for_admins_only(town: Town) -> None:
    coordinator = await make_user(
        town.client, town.admin, Role.COORDINATOR, compound_ids=[town.known.compounds["信义坊"]]
    )
    for path, params in (
        ("/api/v1/reports/compounds", _report_params(town)),
        ("/api/v1/reports/compounds", _report_params(town, format="csv")),
        ("/api/v1/reports/charts/trends.svg", _report_params(town)),
        ("/api/v1/reports/charts/compounds.svg", _report_params(town)),
    ):
        anonymous = await town.client.get(path, params=params)
        assert anonymous.status_code == 401, anonymous.text
        refused = await town.client.get(path, params=params, headers=coordinator)
        assert refused.status_code == 403, refused.text


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-11-26", "to": "2026-11-25"},
        {"from": "2025-01-01", "to": "2026-11-25"},
        {"from": "2026-11-31", "to": "2026-12-01"},
        {"from": "yesterday", "to": "2026-11-25"},
        {"format": "xlsx"},
    ],
)
async def test_a_bad_report_period_is_400(town: Town, params: dict[str, Any]) -> None:
    for path in (
        "/api/v1/reports/compounds",
        "/api/v1/reports/charts/compounds.svg",
        "/api/v1/reports/charts/trends.svg",
    ):
        if "format" in params and "charts" in path:
            continue
        response = await town.client.get(
            path, params=_report_params(town, **params), headers=town.admin
        )
        assert response.status_code == 400, (path, response.text)


async def test_a_report_of_an_unknown_community_is_404(town: Town) -> None:
    for path in (
        "/api/v1/reports/compounds",
        "/api/v1/reports/charts/compounds.svg",
        "/api/v1/reports/charts/trends.svg",
    ):
        response = await town.client.get(
            path, params=_report_params(town, community_id=987654), headers=town.admin
        )
        assert response.status_code == 404, (path, response.text)


# --- charts ----------------------------------------------------------------------------------


async def test_the_charts_are_svg_with_the_compound_names_and_no_external_script(
    town: Town,
) -> None:
    params = _report_params(town, **{"from": "2026-11-20"})
    for chart, must_contain in (
        ("compounds.svg", ["信义坊", "和平里", "大关苑", "正确率", "参与率"]),
        ("trends.svg", ["正确率", "参与率", "2026-11-25"]),
    ):
        response = await town.client.get(
            f"/api/v1/reports/charts/{chart}", params=params, headers=town.admin
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("image/svg+xml")
        svg = response.text
        assert svg.lstrip().startswith("<svg")
        for text in must_contain:
            assert text in svg, (chart, text)
        assert re.search(r"<script[^>]*\bsrc\s*=", svg) is None, chart
        assert 'href="http' not in svg


async def test_an_unknown_chart_is_not_found(town: Town) -> None:
    response = await town.client.get(
        "/api/v1/reports/charts/pie.svg", params=_report_params(town), headers=town.admin
    )
    assert response.status_code in (400, 404), response.text
