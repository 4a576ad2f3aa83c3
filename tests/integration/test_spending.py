"""Spending through the services: the catalogue, redemptions, refunds, payments, settlement,
statements and expiry by lots (issue 4). Runs on both engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest
from piccolo.engine.sqlite import SQLiteEngine

from api.cli import main
from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.accounts import AccountKind
from ledger.domain.errors import (
    AlreadyReversed,
    Forbidden,
    InsufficientPoints,
    InvalidInput,
    LedgerError,
    NotFound,
    NotReversible,
    OutOfScope,
)
from ledger.domain.rewards import LimitReached, NothingToSettle, OutOfStock
from ledger.services.catalog import RewardFields
from ledger.services.container import Services
from ledger.services.expiry import ExpiryRun
from ledger.services.spending import MerchantStatement
from ledger.services.verify import VerifyReport
from ledger.store import ledger as ledger_store
from ledger.store import spending as spending_store
from ledger.store.engine import current_engine
from ledger.store.tables import Entry, Lot, Redemption, Reward
from tests.conftest import DATABASE_URL
from tests.factories import (
    TEST_SECRET_KEY,
    FrozenClock,
    World,
    credit,
    event_id,
    make_household,
    make_user,
    make_world,
)


async def balance(services: Services, account_id: int) -> int:
    return int((await services.accounts.account(SYSTEM, account_id)).balance_points)


async def stock(reward_id: int) -> int:
    row = await Reward.select(Reward.stock).where(Reward.id == reward_id).first()
    assert row is not None
    return int(row["stock"])


async def sink(services: Services, world: World, kind: AccountKind) -> int:
    return await balance(services, await ledger_store.community_account(world.community_id, kind))


async def reward(
    services: Services,
    world: World,
    *,
    name: str = "洗洁精",
    cost_points: int = 30,
    stock: int = 10,
    limit: int | None = None,
    **terms: Any,
) -> dict[str, Any]:
    fields = {
        "name": name,
        "cost_points": cost_points,
        "stock": stock,
        "monthly_limit_per_household": limit,
        **terms,
    }
    return await services.catalog.create(
        SYSTEM, event_id("reward"), world.community_id, RewardFields(**fields)
    )


async def clerk_of(services: Services, world: World) -> Principal:
    return await make_user(services, Role.CLERK, compound_ids=frozenset({world.compound_id}))


async def verified(services: Services) -> VerifyReport:
    await services.sealer.seal_all()
    report = await services.verifier.verify()
    assert report.ok, report
    return report


# -- the catalogue -----------------------------------------------------------------------------


async def test_catalogue_create_change_restock_retire_keep_a_history_with_who(
    services: Services, clock: FrozenClock
) -> None:
    world = await make_world(services)
    admin = await make_user(services, Role.ADMIN)
    created = await services.catalog.create(
        admin,
        event_id(),
        world.community_id,
        RewardFields(
            name="环保袋",
            cost_points=20,
            stock=5,
            monthly_limit_per_household=2,
            active_from=date(2026, 11, 1),
            exchange_weekdays=[6, 3],
        ),
    )
    assert created.stock == 5
    assert created.active is True
    assert created.exchange_weekdays == [3, 6]
    assert created.active_from == "2026-11-01"
    clock.advance(minutes=1)
    changed = await services.catalog.change(
        admin, event_id(), created.id, RewardFields(cost_points=25, monthly_limit_per_household=3)
    )
    assert (changed.cost_points, changed.monthly_limit_per_household) == (25, 3)
    assert changed.name == "环保袋"
    restocked = await services.catalog.restock(admin, event_id(), created.id, 7)
    assert restocked.stock == 12
    retired = await services.catalog.retire(SYSTEM, event_id(), created.id)
    assert retired.active is False
    history = await services.catalog.history(created.id)
    assert [item.change for item in history] == ["created", "changed", "restocked", "retired"]
    assert [item.actor for item in history] == [admin.username] * 3 + ["system"]
    assert history[0].details == {
        "name": "环保袋",
        "cost_points": 20,
        "stock": 5,
        "monthly_limit_per_household": 2,
        "active_from": "2026-11-01",
        "exchange_weekdays": [3, 6],
    }
    assert history[1].details == {"cost_points": 25, "monthly_limit_per_household": 3}
    assert history[2].details == {"quantity": 7}
    assert history[3].details == {}
    assert history[0].at < history[1].at


async def test_a_change_applies_going_forward_and_past_redemptions_keep_their_cost(
    services: Services,
) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    soap = await reward(services, world, cost_points=30)
    first = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    await services.catalog.change(SYSTEM, event_id(), soap.id, RewardFields(cost_points=50))
    second = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    assert (first.points, second.points) == (30, 50)
    assert await balance(services, world.account_id) == 20
    rows = await Redemption.select(Redemption.points).order_by(Redemption.id)
    assert [row["points"] for row in rows] == [30, 50]


async def test_catalogue_refusals_name_the_field(services: Services) -> None:
    world = await make_world(services)
    soap = await reward(services, world)
    with pytest.raises(InvalidInput) as refused:
        await services.catalog.change(SYSTEM, event_id(), soap.id, RewardFields(stock=3))
    assert refused.value.extra["field"] == "stock"
    with pytest.raises(InvalidInput) as refused:
        await services.catalog.change(SYSTEM, event_id(), soap.id, RewardFields())
    assert refused.value.extra["field"] == "body"
    with pytest.raises(InvalidInput) as refused:
        await services.catalog.restock(SYSTEM, event_id(), soap.id, 0)
    assert refused.value.extra["field"] == "quantity"
    with pytest.raises(InvalidInput) as refused:
        await reward(services, world, name="x", exchange_weekdays=[0])
    assert refused.value.extra["field"] == "exchange_weekdays"
    with pytest.raises(NotFound):
        await services.catalog.restock(SYSTEM, event_id(), 999_999, 1)
    with pytest.raises(NotFound):
        await services.catalog.create(
            SYSTEM, event_id(), 999_999, RewardFields(name="y", cost_points=1)
        )
    assert [item.change for item in await services.catalog.history(soap.id)] == ["created"]


async def test_a_changed_date_must_fit_the_stored_one(services: Services) -> None:
    world = await make_world(services)
    later = await reward(services, world, active_from=date(2026, 12, 1))
    with pytest.raises(InvalidInput) as refused:
        await services.catalog.change(
            SYSTEM, event_id(), later.id, RewardFields(active_until=date(2026, 11, 30))
        )
    assert refused.value.extra["field"] == "active_until"
    row = await Reward.select(Reward.active_until).where(Reward.id == later.id).first()
    assert row == {"active_until": None}


# -- redemptions -------------------------------------------------------------------------------


async def test_a_clerk_redeems_by_card_and_everything_moves_together(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    soap = await reward(services, world, stock=5, limit=3)
    clerk = await clerk_of(services, world)
    done = await services.spending.redeem(clerk, event_id(), world.card_token, soap.id, 2)
    assert (done.points, done.balance_points) == (60, 40)
    assert await stock(soap.id) == 3
    assert await sink(services, world, AccountKind.REDEEMED) == 60
    assert await spending_store.redeemed_this_month(world.household_id, soap.id, "2026-11") == 2
    row = await Redemption.select().where(Redemption.id == done.redemption_id).first()
    assert row is not None
    assert (row["status"], row["actor"], row["entry_id"]) == (
        "done",
        clerk.username,
        done.entry_id,
    )
    entry = await Entry.select().where(Entry.id == done.entry_id).first()
    assert entry is not None
    assert (entry["kind"], entry["amount_points"], entry["memo"]) == (
        "redemption",
        60,
        "洗洁精 × 2",
    )
    await verified(services)


async def test_short_of_points_nothing_changes(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 50)
    soap = await reward(services, world, stock=5, limit=3)
    with pytest.raises(InsufficientPoints):
        await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 2)
    assert await stock(soap.id) == 5
    assert await spending_store.redeemed_this_month(world.household_id, soap.id, "2026-11") == 0
    assert await Redemption.count() == 0
    assert await balance(services, world.account_id) == 50
    # The whole limit is still there: three redemptions of one fit once points arrive.
    await credit(services, world.account_id, 40)
    for _ in range(3):
        await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    assert await stock(soap.id) == 2


async def test_short_of_stock_the_balance_is_unchanged(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 1_000)
    soap = await reward(services, world, stock=2)
    with pytest.raises(OutOfStock) as refused:
        await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 3)
    assert refused.value.code == "out_of_stock"
    assert await balance(services, world.account_id) == 1_000
    assert await stock(soap.id) == 2
    assert await Entry.count() == 1
    done = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 2)
    assert done.balance_points == 940
    assert await stock(soap.id) == 0
    with pytest.raises(OutOfStock):
        await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)


async def test_each_refusal_has_its_code(services: Services, clock: FrozenClock) -> None:
    world = await make_world(services)
    other = await make_world(services, community="湖墅社区", compound="德胜新村")
    await credit(services, world.account_id, 1_000)
    clerk = await clerk_of(services, world)
    card = world.card_token

    async def refusal(reward_id: int, quantity: int = 1, actor: Principal = clerk) -> str:
        with pytest.raises(LedgerError) as refused:
            await services.spending.redeem(actor, event_id(), card, reward_id, quantity)
        return refused.value.code

    cheap = await reward(services, world, name="纸巾", cost_points=1, stock=1, limit=1)
    pricey = await reward(services, world, name="电饭煲", cost_points=2_000, stock=1)
    empty = await reward(services, world, name="雨伞", stock=0)
    later = await reward(services, world, name="春联", active_from=date(2027, 1, 1))
    over = await reward(services, world, name="月饼", active_until=date(2026, 10, 1))
    weekend = await reward(services, world, name="鸡蛋", exchange_weekdays=[6, 7])
    retired = await reward(services, world, name="肥皂")
    await services.catalog.retire(SYSTEM, event_id(), retired.id)
    elsewhere = await reward(services, other, name="牙膏")
    await services.spending.redeem(clerk, event_id(), card, cheap.id, 1)

    assert await refusal(pricey.id) == "insufficient_points"
    assert await refusal(empty.id) == "out_of_stock"
    assert await refusal(cheap.id) == "limit_reached"
    assert await refusal(later.id) == "reward_inactive"
    assert await refusal(over.id) == "reward_inactive"
    assert await refusal(weekend.id) == "reward_inactive"  # 2026-11-25 is a Wednesday
    assert await refusal(retired.id) == "reward_inactive"
    assert await refusal(elsewhere.id) == "not_found"
    assert await refusal(999_999) == "not_found"
    assert await refusal(pricey.id, quantity=0) == "validation_error"
    assert await refusal(pricey.id, quantity=101) == "validation_error"
    outsider = await make_user(services, Role.CLERK, compound_ids=frozenset({other.compound_id}))
    assert await refusal(pricey.id, actor=outsider) == "out_of_scope"
    clock.moment = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # Saturday
    await services.spending.redeem(clerk, event_id(), card, weekend.id, 1)
    assert await balance(services, world.account_id) == 1_000 - 1 - 30


async def test_a_refusal_is_replayed_for_its_event_id(services: Services) -> None:
    world = await make_world(services)
    soap = await reward(services, world)
    key = event_id()
    with pytest.raises(InsufficientPoints):
        await services.spending.redeem(SYSTEM, key, world.card_token, soap.id, 1)
    await credit(services, world.account_id, 100)
    with pytest.raises(InsufficientPoints):
        await services.spending.redeem(SYSTEM, key, world.card_token, soap.id, 1)
    done = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    again_key = event_id()
    first = await services.spending.redeem(SYSTEM, again_key, world.card_token, soap.id, 1)
    again = await services.spending.redeem(SYSTEM, again_key, world.card_token, soap.id, 1)
    assert first == again
    assert first.redemption_id != done.redemption_id
    assert await balance(services, world.account_id) == 40


async def test_a_resident_redeems_for_their_own_household_by_id(services: Services) -> None:
    world = await make_world(services)
    neighbour = await make_household(services, world.compound_id)
    await credit(services, world.account_id, 100)
    await credit(services, neighbour.account_id, 100)
    soap = await reward(services, world)
    resident = await make_user(services, Role.RESIDENT, household_id=world.household_id)
    done = await services.spending.redeem(resident, event_id(), world.household_id, soap.id, 1)
    assert done.balance_points == 70
    with pytest.raises(Forbidden):
        await services.spending.redeem(resident, event_id(), neighbour.id, soap.id, 1)
    with pytest.raises(OutOfScope):  # a resident does not scan cards
        await services.spending.redeem(resident, event_id(), neighbour.card_token, soap.id, 1)
    assert await balance(services, neighbour.account_id) == 100
    assert await stock(soap.id) == 9


async def test_the_monthly_limit_starts_again_in_the_next_local_month(
    services: Services, clock: FrozenClock
) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 1_000)
    soap = await reward(services, world, limit=2)
    # 2026-11-30 23:59 in Hangzhou is 15:59 UTC.
    clock.moment = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)
    await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 2)
    with pytest.raises(LimitReached) as refused:
        await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    assert refused.value.extra == {"limit": 2, "redeemed": 2, "quantity": 1}
    # 16:00 UTC on the 30th is already 1 December in Hangzhou: a new month.
    clock.moment = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 2)
    with pytest.raises(LimitReached):
        await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    months = await Redemption.select(Redemption.local_month).order_by(Redemption.id)
    assert [row["local_month"] for row in months] == ["2026-11", "2026-12"]


async def test_the_limit_counts_per_household(services: Services) -> None:
    world = await make_world(services)
    neighbour = await make_household(services, world.compound_id)
    for account_id in (world.account_id, neighbour.account_id):
        await credit(services, account_id, 100)
    soap = await reward(services, world, limit=1)
    await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    await services.spending.redeem(SYSTEM, event_id(), neighbour.card_token, soap.id, 1)
    with pytest.raises(LimitReached):
        await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)


# -- refunds -----------------------------------------------------------------------------------


async def test_a_refund_returns_points_and_stock_once(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    soap = await reward(services, world, stock=5, limit=1)
    clerk = await clerk_of(services, world)
    done = await services.spending.redeem(clerk, event_id(), world.card_token, soap.id, 1)
    key = event_id()
    refunded = await services.spending.refund(clerk, key, done.redemption_id, "破损")
    assert refunded.balance_points == 100
    assert refunded.points == 30
    assert await stock(soap.id) == 5
    assert await sink(services, world, AccountKind.REDEEMED) == 0
    replay = await services.spending.refund(clerk, key, done.redemption_id, "破损")
    assert replay == refunded
    with pytest.raises(AlreadyReversed) as refused:
        await services.spending.refund(clerk, event_id(), done.redemption_id, "again")
    assert refused.value.code == "already_reversed"
    assert await balance(services, world.account_id) == 100
    assert await stock(soap.id) == 5
    entry = await Entry.select().where(Entry.id == refunded.entry_id).first()
    assert entry is not None
    assert (entry["kind"], entry["reverses_entry_id"]) == ("reversal", done.entry_id)
    row = await Redemption.select().where(Redemption.id == done.redemption_id).first()
    assert row is not None
    assert (row["status"], row["refund_entry_id"]) == ("refunded", refunded.entry_id)
    # A refunded redemption no longer counts toward the monthly limit.
    await services.spending.redeem(clerk, event_id(), world.card_token, soap.id, 1)
    await verified(services)


async def test_refund_refusals(services: Services) -> None:
    world = await make_world(services)
    other = await make_world(services, community="湖墅社区", compound="德胜新村")
    await credit(services, world.account_id, 100)
    soap = await reward(services, world)
    done = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    with pytest.raises(NotFound):
        await services.spending.refund(SYSTEM, event_id(), 999_999, "x")
    with pytest.raises(InvalidInput) as refused:
        await services.spending.refund(SYSTEM, event_id(), done.redemption_id, "  ")
    assert refused.value.extra["field"] == "reason"
    outsider = await make_user(services, Role.CLERK, compound_ids=frozenset({other.compound_id}))
    with pytest.raises(OutOfScope):
        await services.spending.refund(outsider, event_id(), done.redemption_id, "x")
    assert await balance(services, world.account_id) == 70


async def test_refunded_points_keep_their_lots_expiry(
    services: Services, clock: FrozenClock
) -> None:
    world = await make_world(services)
    clock.moment = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 100)  # expires 2027-12-31
    soap = await reward(services, world, cost_points=80)
    clock.moment = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 50)  # expires 2028-12-31
    done = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    view = await services.accounts.account(SYSTEM, world.account_id)
    assert msgspec.to_builtins(view.expiring) == [
        {"points": 20, "expires_on": "2027-12-31"},
        {"points": 50, "expires_on": "2028-12-31"},
    ]
    clock.moment = datetime(2027, 9, 1, 2, 0, tzinfo=UTC)
    await services.spending.refund(SYSTEM, event_id(), done.redemption_id, "缺货")
    view = await services.accounts.account(SYSTEM, world.account_id)
    assert view.balance_points == 150
    assert msgspec.to_builtins(view.expiring) == [
        {"points": 100, "expires_on": "2027-12-31"},
        {"points": 50, "expires_on": "2028-12-31"},
    ]
    assert await Lot.count() == 2  # no new lot for the refund
    await verified(services)


# -- payments and settlement -------------------------------------------------------------------


async def test_a_household_pays_a_merchant_up_to_its_balance(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    clerk = await clerk_of(services, world)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")
    paid = await services.spending.pay(clerk, event_id(), world.card_token, shop.id, 100)
    assert paid.balance_points == 0
    assert await balance(services, shop.account_id) == 100
    with pytest.raises(InsufficientPoints):
        await services.spending.pay(clerk, event_id(), world.card_token, shop.id, 1)
    with pytest.raises(InvalidInput):
        await services.spending.pay(clerk, event_id(), world.card_token, shop.id, 0)
    with pytest.raises(NotFound):
        await services.spending.pay(clerk, event_id(), world.card_token, 999_999, 1)
    await verified(services)


async def test_paying_a_merchant_of_another_community_is_refused(services: Services) -> None:
    world = await make_world(services)
    other = await make_world(services, community="湖墅社区", compound="德胜新村")
    await credit(services, world.account_id, 100)
    far = await services.registry.create_merchant(SYSTEM, event_id(), other.community_id, "远店")
    with pytest.raises(NotFound) as refused:
        await services.spending.pay(SYSTEM, event_id(), world.card_token, far.id, 10)
    assert refused.value.extra == {"what": "merchant"}
    assert await balance(services, world.account_id) == 100
    assert await balance(services, far.account_id) == 0


async def test_settlement_moves_everything_to_the_settled_sink_once(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 40)
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 25)
    settled = await services.spending.settle(SYSTEM, event_id(), shop.id)
    assert settled.settled_points == 65
    assert await balance(services, shop.account_id) == 0
    assert await sink(services, world, AccountKind.SETTLED) == 65
    with pytest.raises(NothingToSettle) as refused:
        await services.spending.settle(SYSTEM, event_id(), shop.id)
    assert refused.value.code == "nothing_to_settle"
    with pytest.raises(NotFound):
        await services.spending.settle(SYSTEM, event_id(), 999_999)
    await verified(services)


async def test_a_statement_totals_a_period(services: Services, clock: FrozenClock) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 500)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")
    clock.moment = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 40)
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 25)
    clock.moment = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    await services.spending.settle(SYSTEM, event_id(), shop.id)
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 10)
    # 23:30 on 4 November in Hangzhou (15:30 UTC) still belongs to the 4th.
    clock.moment = datetime(2026, 11, 4, 15, 30, tzinfo=UTC)
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 7)
    # 00:30 on 5 November in Hangzhou, although still the 4th in UTC.
    clock.moment = datetime(2026, 11, 4, 16, 30, tzinfo=UTC)
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 3)

    def totals(statement: MerchantStatement) -> tuple[int, int, int, int]:
        return (
            statement.opening_balance_points,
            statement.received_points,
            statement.settled_points,
            statement.closing_balance_points,
        )

    day_2 = await services.spending.statement(shop.id, date(2026, 11, 2), date(2026, 11, 2))
    assert totals(day_2) == (0, 65, 0, 65)
    assert [line.points for line in day_2.lines] == [40, 25]
    days_3_4 = await services.spending.statement(shop.id, date(2026, 11, 3), date(2026, 11, 4))
    assert totals(days_3_4) == (65, 17, 65, 17)
    assert [(line.kind, line.points) for line in days_3_4.lines] == [
        ("settlement", -65),
        ("payment", 10),
        ("payment", 7),
    ]
    whole = await services.spending.statement(shop.id, date(2026, 11, 1), date(2026, 11, 30))
    assert totals(whole) == (0, 85, 65, 20)
    assert whole.merchant == "菜场"
    assert (whole.first_day, whole.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    with pytest.raises(InvalidInput) as refused:
        await services.spending.statement(shop.id, date(2026, 11, 2), date(2026, 11, 1))
    assert refused.value.extra["field"] == "to"
    with pytest.raises(NotFound):
        await services.spending.statement(999_999, date(2026, 11, 1), date(2026, 11, 2))


# -- expiry --------------------------------------------------------------------------------------


async def test_expiry_takes_only_lots_past_their_date_and_spending_took_the_oldest_first(
    services: Services, clock: FrozenClock
) -> None:
    world = await make_world(services)
    clock.moment = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 100)  # earned 2025: valid through 2026-12-31
    clock.moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 50)  # earned 2026: valid through 2027-12-31
    soap = await reward(services, world, cost_points=30)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")
    await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 20)
    view = await services.accounts.account(SYSTEM, world.account_id)
    assert msgspec.to_builtins(view.expiring) == [
        {"points": 50, "expires_on": "2026-12-31"},
        {"points": 50, "expires_on": "2027-12-31"},
    ]
    clock.moment = datetime(2027, 1, 15, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 20)  # earned 2027: valid through 2028-12-31

    first = await services.expiry.run(date(2027, 1, 1))
    assert first == ExpiryRun(as_of="2027-01-01", accounts=1, expired_points=50)
    again = await services.expiry.run(date(2027, 1, 1))
    assert again == ExpiryRun(as_of="2027-01-01", accounts=0, expired_points=0)
    assert await balance(services, world.account_id) == 70
    assert await sink(services, world, AccountKind.EXPIRED) == 50
    view = await services.accounts.account(SYSTEM, world.account_id)
    assert msgspec.to_builtins(view.expiring) == [
        {"points": 50, "expires_on": "2027-12-31"},
        {"points": 20, "expires_on": "2028-12-31"},
    ]
    expiries = await Entry.select().where(Entry.kind == "expiry")
    assert len(expiries) == 1
    assert (expiries[0]["amount_points"], expiries[0]["actor"]) == (50, "system")
    lots = await Lot.select(Lot.points, Lot.remaining_points, Lot.expires_on).order_by(Lot.id)
    assert [(lot["points"], lot["remaining_points"]) for lot in lots] == [
        (100, 0),
        (50, 50),
        (20, 20),
    ]
    await verified(services)


async def test_the_last_valid_day_is_kept(services: Services, clock: FrozenClock) -> None:
    world = await make_world(services)
    clock.moment = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 10)
    assert (await services.expiry.run(date(2027, 12, 31))).expired_points == 0
    assert (await services.expiry.run(date(2028, 1, 1))).expired_points == 10


async def test_a_credit_after_local_midnight_on_new_years_eve_belongs_to_the_new_year(
    services: Services, clock: FrozenClock
) -> None:
    world = await make_world(services)
    clock.moment = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 local, 2026
    await credit(services, world.account_id, 1)
    clock.moment = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 local, 2027
    await credit(services, world.account_id, 2)
    view = await services.accounts.account(SYSTEM, world.account_id)
    assert msgspec.to_builtins(view.expiring) == [
        {"points": 1, "expires_on": "2027-12-31"},
        {"points": 2, "expires_on": "2028-12-31"},
    ]


async def test_expiring_within_30_days_lists_accounts_for_reminders(
    services: Services, clock: FrozenClock
) -> None:
    world = await make_world(services)
    late = await make_household(services, world.compound_id)
    other = await make_world(services, community="湖墅社区", compound="德胜新村")
    clock.moment = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 60)
    await credit(services, other.account_id, 5)
    clock.moment = datetime(2027, 6, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 15)  # expires 2028: not within 30 days
    await credit(services, late.account_id, 40)
    clock.moment = datetime(2027, 12, 5, 2, 0, tzinfo=UTC)
    soon = await services.expiry.expiring(None, 30, 0, 50)
    assert [(row.account_id, row.points, row.first_expires_on) for row in soon] == [
        (world.account_id, 60, "2027-12-31"),
        (other.account_id, 5, "2027-12-31"),
    ]
    assert soon[0].household_id == world.household_id
    assert soon[0].kind == "household"
    mine = await services.expiry.expiring(world.community_id, 30, 0, 50)
    assert [row.account_id for row in mine] == [world.account_id]
    paged = await services.expiry.expiring(None, 30, world.account_id, 50)
    assert [row.account_id for row in paged] == [other.account_id]
    assert await services.expiry.expiring(None, 25, 0, 50) == []
    with pytest.raises(InvalidInput) as refused:
        await services.expiry.expiring(None, 0, 0, 50)
    assert refused.value.extra["field"] == "within_days"
    # Once expired, nothing is left to remind of.
    await services.expiry.run(date(2028, 1, 1))
    clock.moment = datetime(2028, 12, 10, 2, 0, tzinfo=UTC)
    rows = await services.expiry.expiring(None, 30, 0, 50)
    assert [(row.account_id, row.points) for row in rows] == [
        (world.account_id, 15),
        (late.account_id, 40),
    ]


async def test_verify_checks_that_lots_match_balances(services: Services) -> None:
    world = await make_world(services)
    neighbour = await make_household(services, world.compound_id)
    await credit(services, world.account_id, 100)
    await credit(services, neighbour.account_id, 30)
    soap = await reward(services, world)
    done = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 2)
    await services.spending.refund(SYSTEM, event_id(), done.redemption_id, "退货")
    await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    report = await verified(services)
    checks = {check.name: check for check in report.checks}
    assert checks["lots_match_balances"].ok

    await Lot.raw(
        "UPDATE lot SET remaining_points = remaining_points - 1 WHERE account_id = {}",
        neighbour.account_id,
    )
    report = await services.verifier.verify()
    assert not report.ok
    failed = [check for check in report.checks if not check.ok]
    # The lot changed behind the ledger's back, so its lot_total no longer matches it either.
    assert [check.name for check in failed] == ["lots_match_balances", "lot_totals_match_lots"]
    assert f"account {neighbour.account_id} " in failed[0].detail
    assert "30 points" in failed[0].detail
    assert "lots hold 29" in failed[0].detail


async def test_the_expire_command_writes_expiry_entries_once(
    services: Services,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`greenledger expire --as-of DATE` on this test's database, through `api.cli.main`.

    The CLI builds its own Services in its own event loop (asyncio.run, here in a thread), so
    the test's pool (PostgreSQL) is closed while it runs and reopened afterwards.
    """
    world = await make_world(services)
    neighbour = await make_household(services, world.compound_id)
    clock.moment = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 40)
    await credit(services, neighbour.account_id, 2)
    clock.moment = datetime(2027, 6, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 5)
    engine = current_engine()
    url = engine.path if isinstance(engine, SQLiteEngine) else DATABASE_URL
    monkeypatch.setenv("GREENLEDGER_DATABASE_URL", url)
    monkeypatch.setenv("GREENLEDGER_SECRET_KEY", TEST_SECRET_KEY)
    await services.db.close()
    try:
        first = await asyncio.to_thread(main, ["expire", "--as-of", "2028-01-01"])
        first_out = capsys.readouterr().out
        again = await asyncio.to_thread(main, ["expire", "--as-of", "2028-01-01"])
        again_out = capsys.readouterr().out
    finally:
        await services.db.start()
    assert (first, again) == (0, 0)
    assert "expired 42 points in 2 accounts" in first_out
    assert "expired 0 points in 0 accounts" in again_out
    assert await balance(services, world.account_id) == 5
    assert await balance(services, neighbour.account_id) == 0
    assert await sink(services, world, AccountKind.EXPIRED) == 42
    await verified(services)


async def test_a_statement_adds_up_when_a_payment_was_reversed(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")
    paid = await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 40)
    await services.accounts.reverse(SYSTEM, event_id(), paid.entry_id, "收错了")
    statement = await services.spending.statement(shop.id, date(2026, 11, 1), date(2026, 11, 30))
    assert statement.closing_balance_points == 0
    assert (
        statement.opening_balance_points + statement.received_points - statement.settled_points
        == statement.closing_balance_points
    )


async def test_a_redemption_entry_is_undone_by_its_refund_not_a_bare_reversal(
    services: Services,
) -> None:
    """A bare reversal would return the points but not the stock; it is refused, naming the
    refund, and the refund does both."""
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    soap = await reward(services, world, stock=5, limit=1)
    done = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    with pytest.raises(NotReversible, match="refund"):
        await services.accounts.reverse(SYSTEM, event_id(), done.entry_id, "退货")
    assert await stock(soap.id) == 4
    await services.spending.refund(SYSTEM, event_id(), done.redemption_id, "退货")
    assert await balance(services, world.account_id) == 100
    assert await stock(soap.id) == 5
    row = await Redemption.select(Redemption.status).where(Redemption.id == done.redemption_id)
    assert row == [{"status": "refunded"}]
