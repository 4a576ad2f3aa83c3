"""A first walk through spending; the full tests live in test_spending_*.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest

from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import InsufficientPoints
from ledger.domain.rewards import LimitReached, OutOfStock
from ledger.services.container import Services
from tests.factories import FrozenClock, credit, event_id, make_user, make_world


async def test_redeem_pay_refund_settle_and_expire(services: Services, clock: FrozenClock) -> None:
    clock.moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    reward = await services.registry.create_reward(
        SYSTEM, event_id(), world.community_id, "洗洁精", 30, 2, 1
    )
    clerk = await make_user(services, Role.CLERK, compound_ids=frozenset({world.compound_id}))
    redeemed = await services.spending.redeem(clerk, event_id(), world.card_token, reward.id, 1)
    assert redeemed.balance_points == 70
    with pytest.raises(LimitReached):
        await services.spending.redeem(clerk, event_id(), world.card_token, reward.id, 1)
    refund = await services.spending.refund(SYSTEM, event_id(), redeemed.redemption_id, "broken")
    assert refund.balance_points == 100
    umbrella = await services.registry.create_reward(
        SYSTEM, event_id(), world.community_id, "雨伞", 10, 2, None
    )
    with pytest.raises(OutOfStock):
        await services.spending.redeem(clerk, event_id(), world.card_token, umbrella.id, 3)
    merchant = await services.registry.create_merchant(
        SYSTEM, event_id(), world.community_id, "菜场"
    )
    paid = await services.spending.pay(clerk, event_id(), world.card_token, merchant.id, 40)
    assert paid.balance_points == 60
    with pytest.raises(InsufficientPoints):
        await services.spending.pay(clerk, event_id(), world.card_token, merchant.id, 61)
    settled = await services.spending.settle(SYSTEM, event_id(), merchant.id)
    assert settled.settled_points == 40
    account = await services.accounts.account(SYSTEM, world.account_id)
    assert msgspec.to_builtins(account.expiring) == [{"points": 60, "expires_on": "2027-12-31"}]
    clock.moment = datetime(2027, 12, 20, 2, 0, tzinfo=UTC)
    soon = await services.expiry.expiring(None, 30, 0, 10)
    assert [row.points for row in soon] == [60]
    first = await services.expiry.run(date(2028, 1, 1))
    again = await services.expiry.run(date(2028, 1, 1))
    assert first.expired_points == 60
    assert again.expired_points == 0
    assert (await services.accounts.account(SYSTEM, world.account_id)).balance_points == 0
    await services.sealer.seal_all()
    report = await services.verifier.verify()
    assert report.ok, report
