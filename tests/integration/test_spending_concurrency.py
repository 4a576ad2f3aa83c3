"""Spending races on real PostgreSQL (issue 4): stock, balances, lots and refunds.

Every request is its own task under asyncio.gather over the 10-connection pool, so requests
interleave inside the database. Counts are exact; run with `-s` to see the figures.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.domain.access import SYSTEM
from ledger.domain.accounts import AccountKind
from ledger.domain.errors import AlreadyReversed, InsufficientPoints, LedgerError
from ledger.domain.rewards import OutOfStock
from ledger.services.catalog import RewardFields
from ledger.services.container import Services
from ledger.services.expiry import ExpiryRun
from ledger.services.spending import Paid, Redeemed, Settled
from ledger.store import ledger as ledger_store
from ledger.store.tables import Entry, Lot, LotUse, Redemption, Reward
from tests.factories import FrozenClock, credit, event_id, make_household, make_world

pytestmark = pytest.mark.postgres

Outcome = Any  # a service's result, or the LedgerError that refused it


async def _race(requests: list[Awaitable[Any]]) -> tuple[list[Outcome], float]:
    """All requests at once; refusals are outcomes, anything else fails the test."""
    started = time.perf_counter()
    outcomes = await asyncio.gather(*requests, return_exceptions=True)
    seconds = time.perf_counter() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, LedgerError):
            raise outcome
    return list(outcomes), seconds  # type: ignore[arg-type]


async def _after(seconds: float, request: Awaitable[Any]) -> Any:
    await asyncio.sleep(seconds)
    return await request


def _tally(outcomes: list[Any]) -> Counter[str]:
    return Counter(o.code if isinstance(o, LedgerError) else "ok" for o in outcomes)


async def _balance(services: Services, account_id: int) -> int:
    return int((await services.accounts.account(SYSTEM, account_id)).balance_points)


async def _stock(reward_id: int) -> int:
    row = await Reward.select(Reward.stock).where(Reward.id == reward_id).first()
    assert row is not None
    return int(row["stock"])


async def _assert_verified(services: Services) -> None:
    await services.sealer.seal_all()
    report = await services.verifier.verify()
    assert report.ok, report
    assert report.pending_seal == 0


async def _reward(
    services: Services, community_id: int, cost: int, stock: int, limit: int | None
) -> int:
    fields = {
        "name": f"奖品-{cost}-{stock}",
        "cost_points": cost,
        "stock": stock,
        "monthly_limit_per_household": limit,
    }
    created = await services.catalog.create(
        SYSTEM, event_id("reward"), community_id, RewardFields(**fields)
    )
    return int(created.id)


async def test_50_redemptions_of_the_last_10_units_by_50_households(services: Services) -> None:
    world = await make_world(services)
    cards = [world.card_token]
    accounts = [world.account_id]
    for n in range(49):
        household = await make_household(services, world.compound_id, room=f"{1000 + n}")
        cards.append(household.card_token)
        accounts.append(household.account_id)
    for account_id in accounts:
        await credit(services, account_id, 100)
    reward_id = await _reward(services, world.community_id, 30, 10, 1)

    outcomes, seconds = await _race(
        [services.spending.redeem(SYSTEM, event_id("r"), card, reward_id, 1) for card in cards]
    )
    tally = _tally(outcomes)
    print(f"\n50 households x last 10 units: {dict(tally)} in {seconds:.2f} s")
    assert tally == Counter({"ok": 10, "out_of_stock": 40})
    assert all(isinstance(o, OutOfStock) for o in outcomes if isinstance(o, LedgerError))
    assert await _stock(reward_id) == 0
    assert await Redemption.count() == 10
    balances = sorted([await _balance(services, account_id) for account_id in accounts])
    assert balances == [70] * 10 + [100] * 40
    redeemed = await ledger_store.community_account(world.community_id, AccountKind.REDEEMED)
    assert await _balance(services, redeemed) == 300
    await _assert_verified(services)


async def test_50_redemptions_of_the_last_10_units_by_one_rich_household(
    services: Services,
) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 10_000)
    reward_id = await _reward(services, world.community_id, 30, 10, None)

    outcomes, seconds = await _race(
        [
            services.spending.redeem(SYSTEM, event_id("r"), world.card_token, reward_id, 1)
            for _ in range(50)
        ]
    )
    tally = _tally(outcomes)
    print(f"\none household x last 10 units: {dict(tally)} in {seconds:.2f} s")
    assert tally == Counter({"ok": 10, "out_of_stock": 40})
    assert await _stock(reward_id) == 0
    assert await _balance(services, world.account_id) == 10_000 - 300
    await _assert_verified(services)


async def test_redemptions_and_payments_against_one_balance_never_overdraw(
    services: Services,
) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 1_000)
    reward_id = await _reward(services, world.community_id, 30, 1_000, None)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")
    requests: list[tuple[str, int, Awaitable[dict[str, Any]]]] = []
    for n in range(60):
        requests.append(
            (
                "redemption",
                30,
                services.spending.redeem(SYSTEM, f"red-{n}", world.card_token, reward_id, 1),
            )
        )
        requests.append(
            (
                "payment",
                17,
                services.spending.pay(SYSTEM, f"pay-{n}", world.card_token, shop.id, 17),
            )
        )
    random.Random(4).shuffle(requests)

    outcomes, seconds = await _race([request for _, _, request in requests])
    spent = sum(
        points
        for (_, points, _), outcome in zip(requests, outcomes, strict=True)
        if not isinstance(outcome, LedgerError)
    )
    tally = Counter(
        f"{kind} {outcome.code if isinstance(outcome, LedgerError) else 'ok'}"
        for (kind, _, _), outcome in zip(requests, outcomes, strict=True)
    )
    final = await _balance(services, world.account_id)
    print(
        f"\nredemptions+payments on 1000 points: {dict(sorted(tally.items()))}, "
        f"spent {spent}, left {final}, in {seconds:.2f} s"
    )
    assert all(isinstance(o, Redeemed | Paid | InsufficientPoints) for o in outcomes), (
        "only insufficient_points may refuse"
    )
    assert spent <= 1_000
    assert final == 1_000 - spent >= 0
    assert final < 17, "a payment of 17 was refused, so less than 17 was left"
    redeemed = tally["redemption ok"]
    assert await _stock(reward_id) == 1_000 - redeemed
    assert await _balance(services, shop.account_id) == 17 * tally["payment ok"]
    await _assert_verified(services)


async def test_expiry_running_beside_spending_never_takes_a_lot_twice(
    services: Services, clock: FrozenClock
) -> None:
    world = await make_world(services)
    households = [(world.account_id, world.card_token)]
    for n in range(19):
        household = await make_household(services, world.compound_id, room=f"{2000 + n}")
        households.append((household.account_id, household.card_token))
    clock.moment = datetime(2025, 5, 1, 2, 0, tzinfo=UTC)
    for account_id, _ in households:
        await credit(services, account_id, 100)  # due: valid through 2026-12-31
    clock.moment = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    for account_id, _ in households:
        await credit(services, account_id, 100)  # not due: valid through 2027-12-31
    clock.moment = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
    reward_id = await _reward(services, world.community_id, 15, 10_000, None)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")

    requests: list[Awaitable[dict[str, Any]]] = []
    for _, card in households:
        for _ in range(3):
            requests.append(services.spending.pay(SYSTEM, event_id("p"), card, shop.id, 10))
            requests.append(services.spending.redeem(SYSTEM, event_id("r"), card, reward_id, 1))
    # Spending is spread over 0.4 s and the four runs start across it, so some accounts are
    # expired between two of their own payments.
    delays = random.Random(7)
    mixed: list[Awaitable[Any]] = [_after(delays.uniform(0, 0.4), r) for r in requests]
    mixed += [_after(0.1 * n, services.expiry.run(date(2027, 1, 1))) for n in range(4)]

    outcomes, seconds = await _race(mixed)
    runs = [o for o in outcomes if isinstance(o, ExpiryRun)]
    spending = [o for o in outcomes if not isinstance(o, ExpiryRun)]
    expired_total = sum(run.expired_points for run in runs)
    tally = _tally(spending)
    print(
        f"\nexpiry x{len(runs)} beside {len(spending)} payments/redemptions on "
        f"{len(households)} accounts: expired {[run.expired_points for run in runs]} "
        f"(total {expired_total}), spending {dict(tally)}, in {seconds:.2f} s"
    )
    assert len(runs) == 4
    assert tally["ok"] == len(spending), "each account could afford all six"
    assert 25 * len(households) <= expired_total <= 100 * len(households)

    # Per account: expired + spent + remaining = credited; the due lot is empty.
    partial = 0
    expiry_rows = await Entry.select().where(Entry.kind == "expiry")
    expired_by_account = Counter[int]()
    for row in expiry_rows:
        expired_by_account[row["debit_account_id"]] += row["amount_points"]
    assert len(expiry_rows) == len(expired_by_account), "at most one expiry entry per account"
    assert sum(expired_by_account.values()) == expired_total
    for account_id, _ in households:
        remaining = await _balance(services, account_id)
        expired = expired_by_account[account_id]
        partial += 25 < expired < 100
        assert expired + 3 * (10 + 15) + remaining == 200
        assert 100 - 3 * (10 + 15) <= expired <= 100
        lots = (
            await Lot.select(Lot.id, Lot.points, Lot.remaining_points, Lot.expires_on)
            .where(Lot.account_id == account_id)
            .order_by(Lot.id)
        )
        assert lots[0]["remaining_points"] == 0, "the 2025 lot is used up"
        assert sum(lot["remaining_points"] for lot in lots) == remaining
    print(f"accounts expired between two of their own payments: {partial}")
    for lot in await Lot.select(Lot.id, Lot.points, Lot.remaining_points):
        uses = await LotUse.select(LotUse.points).where(LotUse.lot_id == lot["id"])
        assert lot["points"] - lot["remaining_points"] == sum(use["points"] for use in uses)
    assert (await services.expiry.run(date(2027, 1, 1))).expired_points == 0
    await _assert_verified(services)


async def test_a_refund_requested_twice_at_once_refunds_once(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 1_000)
    reward_id = await _reward(services, world.community_id, 30, 20, None)
    redemptions = [
        await services.spending.redeem(SYSTEM, event_id("r"), world.card_token, reward_id, 1)
        for _ in range(10)
    ]
    assert await _stock(reward_id) == 10

    outcomes, seconds = await _race(
        [
            services.spending.refund(SYSTEM, event_id("refund"), done.redemption_id, "退货")
            for done in redemptions
            for _ in range(2)
        ]
    )
    tally = _tally(outcomes)
    print(f"\n10 redemptions x 2 concurrent refunds: {dict(tally)} in {seconds:.2f} s")
    assert tally == Counter({"ok": 10, "already_reversed": 10})
    assert all(isinstance(o, AlreadyReversed) for o in outcomes if isinstance(o, LedgerError))
    for n in range(0, len(outcomes), 2):
        assert sum(not isinstance(o, LedgerError) for o in outcomes[n : n + 2]) == 1
    assert await _stock(reward_id) == 20
    assert await _balance(services, world.account_id) == 1_000
    assert await Entry.count().where(Entry.kind == "reversal") == 10
    await _assert_verified(services)


async def test_refunds_beside_redemptions_on_one_household_settle_cleanly(
    services: Services,
) -> None:
    """Refunds lock the redeemed sink before the household; redemptions the other way round.
    Deadlocks that this may cause must be retried away, never surface."""
    world = await make_world(services)
    await credit(services, world.account_id, 3_000)
    reward_id = await _reward(services, world.community_id, 30, 1_000, None)
    redemptions = [
        await services.spending.redeem(SYSTEM, event_id("r"), world.card_token, reward_id, 1)
        for _ in range(30)
    ]
    requests: list[Awaitable[dict[str, Any]]] = []
    for done in redemptions:
        requests.append(
            services.spending.refund(SYSTEM, event_id("refund"), done.redemption_id, "退货")
        )
        requests.append(
            services.spending.redeem(SYSTEM, event_id("r"), world.card_token, reward_id, 1)
        )

    outcomes, seconds = await _race(requests)
    tally = _tally(outcomes)
    print(f"\n30 refunds beside 30 redemptions: {dict(tally)} in {seconds:.2f} s")
    assert tally == Counter({"ok": 60})
    assert await _stock(reward_id) == 1_000 - 30
    assert await _balance(services, world.account_id) == 3_000 - 30 * 30
    await _assert_verified(services)


async def test_settlements_beside_payments_settle_each_point_once(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 1_000)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 100)
    requests: list[Awaitable[dict[str, Any]]] = []
    for _ in range(10):
        requests.append(services.spending.settle(SYSTEM, event_id("settle"), shop.id))
        requests.append(services.spending.pay(SYSTEM, event_id("p"), world.card_token, shop.id, 7))

    outcomes, seconds = await _race(requests)
    settled = [o for o in outcomes if isinstance(o, Settled)]
    tally = Counter(
        ("settle " if n % 2 == 0 else "pay ") + (o.code if isinstance(o, LedgerError) else "ok")
        for n, o in enumerate(outcomes)
    )
    print(f"\n10 settlements beside 10 payments: {dict(sorted(tally.items()))} in {seconds:.2f} s")
    assert set(tally) <= {"settle ok", "settle nothing_to_settle", "pay ok"}
    assert tally["pay ok"] == 10
    left = await _balance(services, shop.account_id)
    assert sum(s.settled_points for s in settled) + left == 100 + 70
    settled_sink = await ledger_store.community_account(world.community_id, AccountKind.SETTLED)
    assert await _balance(services, settled_sink) == 170 - left
    await _assert_verified(services)
