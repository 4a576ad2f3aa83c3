"""A demo subdistrict like Hushu (湖墅街道), for `make run`: seeded once, into an empty database.

The subdistrict itself is one write transaction, so a failure part-way leaves the database
empty and the next run starts again, rather than finding "some data" and refusing to finish the
job. With `days`, it is built that many days ago and then lives through them
(services/demo_history.py: gradings, hours, redemptions, each day sealed), each write through
its service in a transaction of its own; a failure there leaves the days before it, and a
second run, finding a community, adds nothing. Everything is deterministic
(random.Random(SEED)), so two seeds of the same size are alike.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import cast

from ledger.domain.access import SYSTEM, Role
from ledger.domain.accounts import AccountKind, issuance_stripe
from ledger.domain.entries import EntryKind, Transfer
from ledger.domain.errors import InvalidInput
from ledger.domain.localtime import local_day
from ledger.domain.registry import CompoundKind, HouseholdKind, parse_windows, unit_label
from ledger.domain.rules import DEFAULT_RULES
from ledger.domain.scan_codes import CodeKind
from ledger.services.container import Services
from ledger.services.demo_history import (
    HISTORY_DAYS_MAX,
    HistoryMade,
    MovableClock,
    built_at,
    seed_history,
)
from ledger.services.registry import Registry
from ledger.services.rules import add_version
from ledger.services.users import _HASHER, PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN, Users
from ledger.services.users import principal_of as principal_of_user
from ledger.store import bulk
from ledger.store import ledger as ledger_store
from ledger.store import users as users_store

SEED = 2026
SUBDISTRICT = "湖墅街道"
COMPOUNDS_BY_COMMUNITY: dict[str, tuple[str, ...]] = {
    "卖鱼桥社区": (
        "信义坊", "香蓝名院", "卖鱼桥小区", "湖墅嘉园", "大兜路小区",
        "富义仓公寓", "红石板小区", "霞湾巷小区", "米市巷新村",
    ),
    "珠儿潭社区": (
        "贾家弄新村", "珠儿潭小区", "德胜新村", "左家新村",
        "叶青苑", "宝庆桥小区", "运河人家", "湖墅南苑",
    ),
    "仓基新村社区": (
        "仓基新村", "长乐苑", "潮王公寓", "和睦新村",
        "小河佳苑", "琴山苑", "文澜府", "新华坊",
    ),
}  # fmt: skip
MERCHANTS_BY_COMMUNITY: dict[str, tuple[str, ...]] = {
    "卖鱼桥社区": (
        "卖鱼桥菜场", "湖墅副食品店", "信义坊便利店", "卖鱼桥药房", "富义仓茶馆",
        "大兜路粮油店", "湖墅南路五金店", "卖鱼桥理发店", "信义坊面馆", "卖鱼桥积分兑换站",
    ),
    "珠儿潭社区": (
        "珠儿潭水果店", "德胜菜场", "贾家弄早餐店", "珠儿潭便利店", "左家新村修鞋铺",
        "湖墅北路干洗店", "德胜新村药店", "叶青苑烟酒店", "珠儿潭小吃店", "珠儿潭积分兑换站",
    ),
    "仓基新村社区": (
        "仓基新村菜场", "仓基新村理发店", "和睦桥米店", "长乐苑便利店", "小河路水果店",
        "琴山苑面包房", "潮王路五金店", "文澜府干洗店", "小河直街茶室", "仓基新村积分兑换站",
    ),
}  # fmt: skip
# Besides its residential compounds, the first community has a shop street and an office
# building (issue 15): (compound, its kind, its units' kind, the units' names).
UNIT_COMPOUNDS: tuple[tuple[str, CompoundKind, HouseholdKind, tuple[str, ...]], ...] = (
    ("胜利河美食街", CompoundKind.SHOP_STREET, HouseholdKind.SHOP, (
        "胜利河面馆", "老杭州饭店", "运河奶茶店", "胜利河水果店", "湖墅点心铺", "美食街咖啡馆",
    )),
    ("湖墅大厦", CompoundKind.OFFICE_BUILDING, HouseholdKind.OFFICE, (
        "运河文化传媒公司", "湖墅律师事务所", "远洋科技公司", "卖鱼桥会计师事务所",
    )),
)  # fmt: skip
UNIT_COMMUNITY = "卖鱼桥社区"
UNIT_POINT, UNIT_POST = "垃圾分类投放点", "门口志愿服务岗"
# The demo's rules grade a shop's sorting higher (a restaurant's kitchen waste weighs more than
# a flat's) and let it earn more a day; offices are graded as households are.
DEMO_RULES = replace(
    DEFAULT_RULES,
    grade_points_by_kind={HouseholdKind.SHOP.value: {"good": 20, "fair": 10, "poor": 0}},
    grading_daily_cap_points_by_kind={HouseholdKind.SHOP.value: 60},
)
# (name, cost in points, stock, per-household monthly limit); every community offers all 12.
REWARDS: tuple[tuple[str, int, int, int | None], ...] = (
    ("垃圾袋一卷", 30, 500, 4), ("环保购物袋", 40, 300, 2), ("肥皂两块", 50, 300, 2),
    ("抽纸一提", 60, 300, 2), ("牙膏", 70, 200, 2), ("洗洁精", 80, 200, 2),
    ("陶瓷碗一对", 120, 100, 1), ("洗衣液", 150, 150, 1), ("大米五斤", 200, 100, None),
    ("食用油一瓶", 240, 80, None), ("雨伞", 250, 60, 1), ("双格分类垃圾桶", 300, 50, 1),
)  # fmt: skip
SURNAMES = (
    "王陈张李徐吴周沈朱胡金杨黄俞钱孙方章汪潘叶郑赵何蒋许高刘林施"
    "姚陆马冯邵董倪丁袁范宋严唐郭顾夏程钟楼应傅毛孔邹谢韩卢舒戴"
)
GIVEN_FIRST = "建国志晓海丽秀美玉春文家子雨思佳俊宇浩梓欣嘉一雅金永立"
GIVEN_SECOND = "华平英芳明军伟强红兰萍娟霞杰涛磊敏静婷琳轩涵怡宁辉峰燕丹"
POINTS_TOTAL = 96
POSTS_TOTAL = 40
VOLUNTEERS_TOTAL = 800
WINDOWS = ",".join(str(window) for window in parse_windows(["07:00-09:00", "18:00-20:00"]))
POINT_SIDES = ("东", "南", "西", "北")
POST_GATES = ("东门", "南门", "西门", "北门")
UNITS, FLOORS, ROOMS_PER_FLOOR, VACANT_PERCENT = 3, 6, 2, 12
OPENING_PERCENT, OPENING_POINTS_MIN, OPENING_POINTS_MAX = 20, 10, 300
OPENING_REASON = "纸质积分本结转"
SCOPED_COMPOUNDS = 2
SCOPED_ROLES = frozenset({Role.COORDINATOR, Role.INSPECTOR, Role.CLERK})
DUTIES: dict[Role, str] = {
    Role.ADMIN: "街道 staff: registry, users, adjustments, reversals, QR sheets, verify",
    Role.COORDINATOR: "approves volunteer hours, enters back-filled hours, decides appeals",
    Role.INSPECTOR: "grades households' sorting at collection points",
    Role.CLERK: "scans household cards to redeem rewards or take points as payment",
    Role.VOLUNTEER: "checks in and out at duty posts; sees own hours and points",
    Role.RESIDENT: "sees the household's balance and history; redeems rewards",
}
COUNTED = (
    "communities", "compounds", "households", "collection points", "duty posts", "volunteers",
    "merchants", "rewards", "users", "ledger entries",
)  # fmt: skip


@dataclass
class _Compound:
    compound_id: int
    community_id: int
    name: str
    buildings: int = 1
    account_ids: list[int] = field(default_factory=list)


async def seed_demo(services: Services, *, households: int, password: str, days: int = 0) -> str:
    """Seed the demo subdistrict unless the database has a community; say what it holds.

    With `days` (`greenledger seed-demo` gives HISTORY_DAYS), the subdistrict is built early on
    the first of the `days` days before today and lives through them to yesterday's close; the
    services' clock must then be one the seed can move (`MovableClock`)."""
    if households < 1:
        raise InvalidInput("households", "must be at least 1")
    if not 0 <= days <= HISTORY_DAYS_MAX:
        raise InvalidInput("days", f"must be 0-{HISTORY_DAYS_MAX}")
    if not PASSWORD_LENGTH_MIN <= len(password) <= PASSWORD_LENGTH_MAX:
        raise InvalidInput(
            "password", f"must be {PASSWORD_LENGTH_MIN}-{PASSWORD_LENGTH_MAX} characters"
        )
    clock = services.clock
    if days and not isinstance(getattr(clock, "moment", None), datetime):
        raise InvalidInput("days", "a history needs services built with a clock the seed moves")
    # One slow argon2 hash for every login, computed before the write lock is taken.
    password_hash = await asyncio.to_thread(_HASHER.hash, password)
    carried: tuple[int, int] | None = None
    history: HistoryMade | None = None
    now = clock.now()
    try:
        if days:
            cast(MovableClock, clock).moment = built_at(local_day(now), days)
        async with services.db.write():
            if not await bulk.any_community():
                carried = await _seed(services, households, password_hash)
        if carried is not None and days:
            history = await seed_history(
                services, cast(MovableClock, clock), local_day(now), days, password_hash, SEED
            )
    finally:
        if days:
            cast(MovableClock, clock).moment = now
    if history is not None and services.projector is not None:
        await services.projector.rebuild()  # the boards from every fact, whatever Redis held
    async with services.db.read():
        summary = await _summary(carried, password, history)
        return summary + await _join_lines(services)


async def _seed(services: Services, households: int, password_hash: str) -> tuple[int, int]:
    """Returns how many households carried over a paper balance, and how many points."""
    rng = random.Random(SEED)  # noqa: S311 (demo data, deliberately reproducible)
    now = services.clock.now()
    compounds = await _add_communities(now)
    await _add_households(compounds, households, rng, now)
    units = await _add_shops_and_offices(services.registry, compounds, now)
    await services.codes.issue_missing()  # the bulk-added households' typed codes
    await _add_points_and_posts(services.registry, compounds)
    community_ids = list(dict.fromkeys(compound.community_id for compound in compounds))
    await _add_volunteers(community_ids, rng, now)
    await _add_merchants_and_rewards(community_ids, now)
    resident_account_id = await _add_users(services.users, compounds + units, password_hash)
    return await _carry_over_paper_books(compounds + units, resident_account_id, rng, now)


async def _add_communities(now: datetime) -> list[_Compound]:
    compounds: list[_Compound] = []
    for community_name, compound_names in COMPOUNDS_BY_COMMUNITY.items():
        community_id = await bulk.add_community(community_name, now)
        # What Registry.create_community does, inside this one transaction.
        await ledger_store.open_community_accounts(community_id, now)
        await add_version(community_id, DEMO_RULES, now, SYSTEM.username, now)
        for name in compound_names:
            compound_id = await bulk.add_compound(community_id, name, None, now)
            compounds.append(_Compound(compound_id, community_id, name))
    return compounds


async def _add_households(
    compounds: list[_Compound], households: int, rng: random.Random, now: datetime
) -> None:
    """Larger and smaller compounds; flats in building order with some never registered."""
    sizes = _spread(households, [rng.randint(60, 140) for _ in compounds])
    for compound, size in zip(compounds, sizes, strict=True):
        flats = (flat for flat in _flats() if rng.randrange(100) >= VACANT_PERCENT)
        addresses = list(islice(flats, size))
        compound.buildings = int(addresses[-1][0]) if addresses else 1
        compound.account_ids = await bulk.add_households(
            compound.community_id, compound.compound_id, addresses, now
        )


async def _add_shops_and_offices(
    registry: Registry, compounds: list[_Compound], now: datetime
) -> list[_Compound]:
    """The shop street and the office building, their units, each with a point and a post."""
    first = COMPOUNDS_BY_COMMUNITY[UNIT_COMMUNITY]
    community_id = next(c.community_id for c in compounds if c.name in first)
    units: list[_Compound] = []
    for name, compound_kind, unit_kind, names in UNIT_COMPOUNDS:
        compound_id = await bulk.add_compound(community_id, name, compound_kind.value, now)
        compound = _Compound(compound_id, community_id, name)
        compound.account_ids = await bulk.add_named_units(
            community_id, compound_id, unit_kind.value, names, now
        )
        await registry.add_point(compound_id, f"{name}{UNIT_POINT}", WINDOWS)
        await registry.add_post(compound_id, f"{name}{UNIT_POST}")
        units.append(compound)
    return units


def _flats() -> Iterator[tuple[str, str, str]]:
    """(building, unit, room) for ever: rooms 101, 102 … 602 in each unit of each building."""
    building = 0
    while True:
        building += 1
        for unit in range(1, UNITS + 1):
            for floor in range(1, FLOORS + 1):
                for room in range(1, ROOMS_PER_FLOOR + 1):
                    yield str(building), str(unit), f"{floor}{room:02d}"


async def _add_points_and_posts(registry: Registry, compounds: list[_Compound]) -> None:
    """About four points and one or two posts a compound, spread over its buildings."""
    points = _spread(POINTS_TOTAL, [1] * len(compounds))
    posts = _spread(POSTS_TOTAL, [1] * len(compounds))
    for compound, point_count, post_count in zip(compounds, points, posts, strict=True):
        for index in range(point_count):
            building = 1 + index * compound.buildings // point_count
            name = f"{building}幢{POINT_SIDES[index % len(POINT_SIDES)]}侧投放点"
            await registry.add_point(compound.compound_id, name, WINDOWS)
        for index in range(post_count):
            name = f"{POST_GATES[index % len(POST_GATES)]}志愿服务岗"
            await registry.add_post(compound.compound_id, name)


async def _add_volunteers(community_ids: list[int], rng: random.Random, now: datetime) -> None:
    weights = [len(names) for names in COMPOUNDS_BY_COMMUNITY.values()]
    for community_id, count in zip(community_ids, _spread(VOLUNTEERS_TOTAL, weights), strict=True):
        names = [_person_name(rng) for _ in range(count)]
        await bulk.add_volunteers(community_id, names, now)


def _person_name(rng: random.Random) -> str:
    """A surname and a one- or two-character given name, as on a residents' committee list."""
    given = rng.choice(GIVEN_SECOND)
    if rng.randrange(100) < 70:
        given = rng.choice(GIVEN_FIRST) + given
    return rng.choice(SURNAMES) + given


async def _add_merchants_and_rewards(community_ids: list[int], now: datetime) -> None:
    merchants = MERCHANTS_BY_COMMUNITY.values()
    for community_id, names in zip(community_ids, merchants, strict=True):
        await bulk.add_merchants(community_id, names, now)
        rewards = [
            {
                "community": community_id,
                "name": name,
                "cost_points": cost_points,
                "stock": stock,
                "monthly_limit_per_household": monthly_limit,
                "active": True,
                "created_at": now,
            }
            for name, cost_points, stock, monthly_limit in REWARDS
        ]
        await bulk.add_rewards(rewards)


async def _add_users(users: Users, compounds: list[_Compound], password_hash: str) -> int:
    """One login per role; returns the resident's household account. Staff serve the first
    compounds, the shop street and the office building."""
    residential = compounds[:SCOPED_COMPOUNDS]
    units = compounds[-len(UNIT_COMPOUNDS) :]
    scope = frozenset(compound.compound_id for compound in residential + units)
    household = (await bulk.first_households(1))[0]
    volunteer_id = await bulk.first_volunteer(compounds[0].community_id)
    assert volunteer_id is not None, "seeded above"
    for role in Role:
        await users.add(
            role.value,
            password_hash,
            role,
            household_id=household.id if role is Role.RESIDENT else None,
            volunteer_id=volunteer_id if role is Role.VOLUNTEER else None,
            compound_ids=scope if role in SCOPED_ROLES else frozenset(),
        )
    return household.account


async def _carry_over_paper_books(
    compounds: list[_Compound], resident_account_id: int, rng: random.Random, now: datetime
) -> tuple[int, int]:
    """Opening balances from the paper points book for about OPENING_PERCENT of households.

    Each is an ordinary adjustment from the community's issuance, so `verify` proves it like
    any other entry. The demo resident always has one, so that there is something to spend.
    """
    issuance: dict[tuple[int, int], int] = {}
    carried, points = 0, 0
    for compound in compounds:
        for account_id in compound.account_ids:
            chosen = rng.randrange(100) < OPENING_PERCENT
            amount = rng.randint(OPENING_POINTS_MIN, OPENING_POINTS_MAX)
            if not chosen and account_id != resident_account_id:
                continue
            event_id = f"demo-opening:{account_id}"
            key = (compound.community_id, issuance_stripe(event_id))
            if key not in issuance:
                issuance[key] = await ledger_store.community_account(
                    key[0], AccountKind.ISSUANCE, key[1]
                )
            transfer = Transfer(
                issuance[key], account_id, amount, EntryKind.ADJUSTMENT, OPENING_REASON
            )
            await ledger_store.post(transfer, event_id=event_id, actor=SYSTEM.username, now=now)
            carried, points = carried + 1, points + amount
    return carried, points


def _spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `weights`, summing exactly (largest remainder first)."""
    whole = sum(weights)
    counts = [total * weight // whole for weight in weights]
    remainders = [total * weight % whole for weight in weights]
    by_remainder = sorted(range(len(weights)), key=lambda index: -remainders[index])
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


async def _summary(
    carried: tuple[int, int] | None, password: str, history: HistoryMade | None = None
) -> str:
    if carried is None:
        lines = ["The database already has data, so nothing was seeded. It holds:"]
    else:
        lines = [f"Seeded a demo subdistrict, {SUBDISTRICT}:"]
    for label in COUNTED:
        lines.append(f"  {await bulk.count(label):>7,} {label}")
    if carried is not None:
        households, points = carried
        lines.append(
            f"  {households:>7,} households carried over {points:,} points from the paper"
            f" points book ({OPENING_REASON})"
        )
    if history is not None:
        lines += _history_lines(history)
    return "\n".join(lines + await _login_lines(password))


def _history_lines(made: HistoryMade) -> list[str]:
    """What the last `days` days hold, each sealed on its day."""
    lines = [
        f"The last {made.days} days, written through the services and sealed day by day:",
        f"  {made.gradings:>7,} gradings ({made.photos:,} with a photo, {made.dropoffs:,} from"
        " the resident's drop-offs)",
        f"  {made.shifts:>7,} volunteer shifts ({made.shifts_pending:,} of yesterday evening's"
        " left for a coordinator to approve)",
        f"  {made.redemptions:>7,} redemptions at the counter, {made.payments:,} payments to"
        f" merchants, {made.settlements:,} settlements, {made.weighins:,} weigh-ins",
        "  Staff logins (same password): inspector-<community>-<n>, coordinator-<community>,"
        " clerk-<community>, volunteer-<volunteer id>",
    ]
    if made.refused:
        lines.append(f"  {made.refused:>7,} of the history's writes were refused")
    return lines


async def _join_lines(services: Services) -> str:
    """A household nobody has joined yet, with its card's page and join code: try joining."""
    rows = await bulk.first_households(2)
    if len(rows) < 2:
        return ""
    household = rows[1]
    token = services.codes.token(CodeKind.HOUSEHOLD, household.id, household.card_serial)
    return (
        f"\nTry joining a household by its card (issue 15): open {services.codes.url(token)}"
        f"\n  choose Join this household, join code {household.join_code}, any mainland"
        " mobile number and a 6-digit PIN; then sign in with that number and PIN."
    )


async def _login_lines(password: str) -> list[str]:
    usernames = [role.value for role in Role]
    rows = await bulk.users_named(usernames)
    if not rows:
        return ["No demo logins exist in this database (it was not made by seed-demo)."]
    lines = ["Demo logins (username / password / role — what it can do):"]
    for row in rows:
        role = Role(row["role"])
        where = await _scope_text(int(row["id"]))
        lines.append(f"  {row['username']:<11} / {password} / {role.value:<11} {DUTIES[role]}")
        if where:
            lines.append(f"  {'':<11}   {where}")
    return lines


async def _scope_text(user_id: int) -> str:
    """Whose household, which volunteer, or which compounds a login acts for."""
    user = await users_store.user_by_id(user_id)
    assert user is not None, "the row was just read"
    principal = await principal_of_user(user)
    if principal.household_id is not None:
        home = await bulk.home_label(principal.household_id)
        assert home is not None, "a user's household exists (foreign key)"
        label = unit_label(home.kind, home.building, home.unit, home.room, home.name)
        return f"household {home.id}: {home.compound_name} {label}"
    if principal.volunteer_id is not None:
        name = await bulk.volunteer_name(principal.volunteer_id)
        return f"volunteer {principal.volunteer_id}: {name}"
    if principal.compound_ids:
        names = await bulk.compound_names(principal.compound_ids)
        return "in " + "、".join(names[c] for c in sorted(principal.compound_ids))
    return "in every compound" if principal.role is Role.ADMIN else ""
