"""What a resident comes to the home page for: the rewards within reach, the reasons behind a
grade, when an appeal was decided, points expiring soon, the carry-over by its name, and a
rank of points earned (an adjustment never moves it)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.pages.people import expiring_soon, within_reach
from api.settings import Settings
from ledger.domain.access import SYSTEM, Role
from ledger.domain.rules import Grade, Stream
from ledger.services import views
from ledger.services.accounts import Expiring
from ledger.services.catalog import RewardFields
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.services.registry import HouseholdRequest
from tests.api.pages_helpers import Demo, seed, sign_in_page
from tests.factories import FrozenClock, event_id, make_user

Client = AsyncTestClient[Any]
HANGZHOU = ZoneInfo("Asia/Shanghai")


def hangzhou(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=HANGZHOU).astimezone(UTC)


@pytest.fixture
async def demo(fresh_db: None, settings: Settings) -> Demo:
    return await seed(settings)


@pytest.fixture
async def story(demo: Demo, settings: Settings) -> dict[str, Any]:
    """The demo resident (24 points carried over from the paper book, reward 垃圾袋一卷 at 30)
    and a neighbour, on 2026-12-06:
      2025-06-01  +10 adjusted for the resident (expire 2026-12-31: soon)
      2026-12-05  resident graded poor (mixed, wrong bin) in kitchen waste: 0 points; appealed,
                  upheld as good: +10 earned. The neighbour graded fair: +5 earned.
      2026-12-06  +500 adjusted for the neighbour: balance, not rank."""
    clock = FrozenClock(hangzhou(2025, 6, 1, 9))
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    household = await views.household(demo.household_id)
    compound_id = household.compound
    await services.accounts.adjust(SYSTEM, event_id(), demo.account_id, 10, "旧积分")
    await services.catalog.create(
        SYSTEM,
        event_id(),
        household.community_id,
        RewardFields(name="大米五斤", cost_points=80, stock=9),
    )
    await services.catalog.create(
        SYSTEM,
        event_id(),
        household.community_id,
        RewardFields(name="已兑完", cost_points=1, stock=0),
    )
    clock.moment = hangzhou(2026, 12, 5, 9)
    neighbour = await services.registry.create_household(
        SYSTEM, event_id(), HouseholdRequest(compound_id, "3", "1", "301")
    )
    scope = frozenset({compound_id})
    inspector = await make_user(services, Role.INSPECTOR, compound_ids=scope)
    coordinator = await make_user(services, Role.COORDINATOR, compound_ids=scope)
    resident = await make_user(services, Role.RESIDENT, household_id=demo.household_id)
    graded = await services.gradings.inspect(
        inspector, Grading( event_id(), demo.card_token, demo.point_token,
        Stream.KITCHEN, Grade.POOR, ["mixed", "wrong_bin"], None))  # fmt: skip
    await services.gradings.inspect(
        inspector, Grading( event_id(), neighbour.card_token, demo.point_token,
        Stream.KITCHEN, Grade.FAIR, ["mixed"], None))  # fmt: skip
    opened = await services.appeals.open(resident, event_id(), graded.inspection_id, "分好了")
    clock.moment = hangzhou(2026, 12, 5, 15)
    await services.appeals.decide(coordinator, event_id(), opened.appeal_id, True, Grade.GOOD)
    clock.moment = hangzhou(2026, 12, 6, 9)
    await services.accounts.adjust(SYSTEM, event_id(), neighbour.account_id, 500, "补录")
    return {"neighbour": neighbour.id}


@pytest.fixture
async def client(story: dict[str, Any], settings: Settings) -> AsyncIterator[Client]:
    clock = FrozenClock(hangzhou(2026, 12, 6, 10))
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as test_client:
        yield test_client


def _text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|ul)>', html, re.S)
    assert match, f"the page has #{element_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


async def test_the_home_shows_what_a_resident_comes_for(client: Client) -> None:
    await sign_in_page(client, "resident")
    home = await client.get("/home")
    assert home.status_code == 200
    html = home.text
    assert "积分余额：44" in _text(html, "balance")
    # The rewards the balance pays for; the next one and how far off it is; none out of stock.
    assert "垃圾袋一卷" in _text(html, "rewards")
    assert "已兑完" not in html
    assert _text(html, "next-reward") == "再攒 36 积分即可兑换大米五斤（80 积分）。"
    # The inspector's reasons, the appeal's decision and when it was made.
    grades = _text(html, "grades")
    assert "混投" in grades
    assert "投错桶" in grades
    assert "申诉成立" in grades
    assert "2026/12/5 15:00 裁定" in grades
    assert "改评为优秀" in grades
    # 10 points from 2025 expire at the end of this year.
    assert "有 10 积分将于 2026年12月31日 前过期" in _text(html, "expiring-soon")
    # The paper-book carry-over under its own name.
    assert "纸质积分本结转" in _text(html, "entries")
    # Rank by points earned: 10 (the upheld appeal) against the neighbour's 5; neither the
    # 24 + 10 adjusted here nor the neighbour's 500 count.
    assert _text(html, "rank") == "本月在信义坊排名第 1（本月赚得 10 积分）。"


async def test_an_adjustment_alone_puts_no_household_on_the_board(
    demo: Demo, settings: Settings
) -> None:
    """The seed's resident has only a carry-over: not on this month's board."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        await sign_in_page(client, "resident")
        home = await client.get("/home")
    assert _text(home.text, "rank") == "本月尚未上榜。"
    assert _text(home.text, "next-reward") == "再攒 6 积分即可兑换垃圾袋一卷（30 积分）。"
    assert "积分暂时还不够兑换奖品" in _text(home.text, "rewards")
    assert 'id="expiring-soon"' not in home.text


def test_within_reach_is_cheapest_first_and_skips_what_cannot_be_had() -> None:
    rewards = [
        {"id": 1, "name": "a", "cost_points": 50, "stock": 1, "active": True},
        {"id": 2, "name": "b", "cost_points": 10, "stock": 1, "active": True},
        {"id": 3, "name": "c", "cost_points": 5, "stock": 0, "active": True},
        {"id": 4, "name": "d", "cost_points": 5, "stock": 9, "active": False},
        {"id": 5, "name": "e", "cost_points": 30, "stock": 2, "active": True},
    ]
    affordable, following = within_reach(30, rewards)
    assert [r["id"] for r in affordable] == [2, 5]
    assert following is not None
    assert (following["id"], following["short_points"]) == (1, 20)
    assert within_reach(50, rewards)[1] is None


def test_expiring_soon_counts_the_lots_within_sixty_days() -> None:
    today = date(2026, 11, 1)
    groups = [
        Expiring(points=7, expires_on="2026-12-31"),  # in 60 days
        Expiring(points=3, expires_on="2027-01-01"),  # in 61 days: not yet
    ]
    assert expiring_soon(groups, today) == {"points": 7, "last": "2026-12-31"}
    assert expiring_soon(groups[1:], today) is None
    assert expiring_soon(groups, date(2026, 11, 2)) == {"points": 10, "last": "2027-01-01"}
