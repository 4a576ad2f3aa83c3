"""What one redemption at the counter sends to PostgreSQL, pinned as the graded credit's is
(tests/integration/test_round_trips.py): each statement is a round trip, so a change that adds
one shows here, not only in the next benchmark (`make bench` records the same list from a real
`Spending.redeem` and shows it under its spending row)."""

from __future__ import annotations

import pytest

from bench.common import CaptureStatements
from ledger.domain.access import SYSTEM, Role
from ledger.services.container import Services
from tests.factories import credit, event_id, make_user, make_world

pytestmark = pytest.mark.postgres

# A clerk redeems one item for a household whose points sit in one lot.
REDEMPTION = [
    "BEGIN",
    "SELECT idempotency_record",
    "SELECT household",
    "SELECT reward",  # and its community's match with the household's compound's
    "SELECT account FOR UPDATE",
    "SELECT redemption",
    "SELECT account",
    "UPDATE reward",
    "SELECT e + UPDATE account, UPDATE account, INSERT INTO entry",
    "SELECT ? + INSERT INTO entry_unsealed",
    "SELECT lot",
    "UPDATE lot",
    "SELECT ? + INSERT INTO lot_total",
    "INSERT INTO lot_use",
    "INSERT INTO redemption",
    "SELECT redemption",
    "SELECT reward",
    "INSERT INTO idempotency_record + INSERT INTO notice_fact",
    "COMMIT",
]


async def test_a_redemption_is_nineteen_round_trips(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 100)
    reward = await services.registry.create_reward(
        SYSTEM, event_id(), world.community_id, "洗衣液", 10, 100, None
    )
    clerk = await make_user(services, Role.CLERK, compound_ids=frozenset({world.compound_id}))
    # The first redemption of a process reads the community's redeemed account's id once.
    await services.spending.redeem(clerk, event_id(), world.card_token, reward.id, 1)
    with CaptureStatements() as capture:
        reply = await services.spending.redeem(clerk, event_id(), world.card_token, reward.id, 1)
    assert reply.balance_points == 80
    assert reply.points == 10
    assert capture.shapes() == REDEMPTION
    assert len(REDEMPTION) == 19
