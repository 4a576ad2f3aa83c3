"""lot_total: the points left per account and expiry date, kept with every lot change (both
engines). The balance read shows it; `verify` proves it equals the lots it sums."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import msgspec

from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from ledger.services.verify import Check
from ledger.store import lots
from ledger.store.tables import Lot, LotTotal
from tests.factories import FrozenClock, credit, event_id, make_household, make_world
from tests.integration.test_spending import reward, verified

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def _totals() -> dict[tuple[int, str], int]:
    rows = await LotTotal.select(LotTotal.account_id, LotTotal.expires_on, LotTotal.points)
    return {(r["account_id"], str(r["expires_on"])): r["points"] for r in rows if r["points"]}


async def _lot_sums() -> dict[tuple[int, str], int]:
    rows: list[dict[str, Any]] = await Lot.raw(
        "SELECT account_id, expires_on, SUM(remaining_points) AS points FROM lot "
        "GROUP BY account_id, expires_on"
    )
    return {(r["account_id"], str(r["expires_on"])): int(r["points"]) for r in rows if r["points"]}


async def test_open_many_opens_lots_and_adds_to_their_totals(services: Services) -> None:
    first, second = date(2027, 12, 31), date(2028, 12, 31)
    async with services.db.write():
        await lots.open_lot(1, 100, 5, first, NOW)  # waits, on PostgreSQL, for the next INSERT
        await lots.open_many(
            [
                (1, 101, 7, first, NOW),
                (1, 102, 3, first, NOW),
                (1, 103, 4, second, NOW),
                (2, 104, 9, first, NOW),
            ]
        )
        await lots.open_many([])
    async with services.db.write():
        await lots.open_many([(2, 105, 1, first, NOW), (3, 106, 2, second, NOW)])
    expected = {
        (1, "2027-12-31"): 15,
        (1, "2028-12-31"): 4,
        (2, "2027-12-31"): 10,
        (3, "2028-12-31"): 2,
    }
    assert await _totals() == expected
    assert await _lot_sums() == expected
    opened = await Lot.select(Lot.entry_id, Lot.points, Lot.remaining_points).order_by(Lot.entry_id)
    assert [(r["entry_id"], r["points"], r["remaining_points"]) for r in opened] == [
        (100, 5, 5),
        (101, 7, 7),
        (102, 3, 3),
        (103, 4, 4),
        (104, 9, 9),
        (105, 1, 1),
        (106, 2, 2),
    ]


async def test_two_lots_of_one_expiry_in_one_transaction(services: Services) -> None:
    """One statement may not upsert one total twice: the second waits for the first to go."""
    expires = date(2027, 12, 31)
    async with services.db.write():
        await lots.open_lot(7, 200, 5, expires, NOW)
        await lots.open_lot(7, 201, 6, expires, NOW)
        await lots.open_lot(8, 202, 1, expires, NOW)
    assert await _totals() == {(7, "2027-12-31"): 11, (8, "2027-12-31"): 1}
    assert await _lot_sums() == await _totals()


# -- kept by the ledger ------------------------------------------------------------------------


async def _old_expiring(account_id: int) -> list[dict[str, object]]:
    """The account read's expiring list as it was computed before lot_total: summed lots."""
    rows = await Lot.raw(
        "SELECT expires_on, SUM(remaining_points) AS points FROM lot "
        "WHERE account_id = {} AND remaining_points > 0 GROUP BY expires_on ORDER BY expires_on",
        account_id,
    )
    return [{"points": int(row["points"]), "expires_on": str(row["expires_on"])} for row in rows]


async def _agree(services: Services, *account_ids: int) -> None:
    """lot_total equals the lots, the account read (store/reads.py) shows what summing the lots
    showed, and verify says so."""
    assert await _totals() == await _lot_sums()
    for account_id in account_ids:
        expected = await _old_expiring(account_id)
        view = await services.accounts.account(SYSTEM, account_id)
        assert msgspec.to_builtins(view.expiring) == expected
    report = await verified(services)
    checks = {check.name: check for check in report.checks}
    assert checks["lot_totals_match_lots"] == Check(
        "lot_totals_match_lots", True, "every lot total equals the lots it sums"
    )


async def test_credits_spends_reversals_and_expiry_keep_the_totals(
    services: Services, clock: FrozenClock
) -> None:
    world = await make_world(services)
    neighbour = await make_household(services, world.compound_id)
    clock.moment = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 100)  # valid through 2026-12-31
    await credit(services, world.account_id, 40)
    await credit(services, neighbour.account_id, 15)
    clock.moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 50)  # valid through 2027-12-31
    wrong = await credit(services, world.account_id, 7)
    await _agree(services, world.account_id, neighbour.account_id)

    # Spending takes the soonest to expire first, across several lots.
    soap = await reward(services, world, cost_points=60)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "菜场")
    done = await services.spending.redeem(SYSTEM, event_id(), world.card_token, soap.id, 1)
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 25)
    await _agree(services, world.account_id)
    assert msgspec.to_builtins(
        (await services.accounts.account(SYSTEM, world.account_id)).expiring
    ) == [
        {"points": 55, "expires_on": "2026-12-31"},
        {"points": 57, "expires_on": "2027-12-31"},
    ]

    # A refund gives the taken lots back, each to its own expiry date.
    await services.spending.refund(SYSTEM, event_id(), done.redemption_id, "退货")
    await _agree(services, world.account_id)
    # Reversing a credit takes back that credit's own lot.
    await services.accounts.reverse(SYSTEM, event_id(), wrong["entry_id"], "wrong household")
    await _agree(services, world.account_id)
    assert msgspec.to_builtins(
        (await services.accounts.account(SYSTEM, world.account_id)).expiring
    ) == [
        {"points": 115, "expires_on": "2026-12-31"},
        {"points": 50, "expires_on": "2027-12-31"},
    ]

    # Expiry empties the 2026 totals and leaves the rest.
    clock.moment = datetime(2027, 1, 15, 2, 0, tzinfo=UTC)
    await credit(services, world.account_id, 20)  # valid through 2028-12-31
    expired = await services.expiry.run(date(2027, 1, 1))
    assert expired.expired_points == 115 + 15
    await _agree(services, world.account_id, neighbour.account_id)
    assert msgspec.to_builtins(
        (await services.accounts.account(SYSTEM, world.account_id)).expiring
    ) == [
        {"points": 50, "expires_on": "2027-12-31"},
        {"points": 20, "expires_on": "2028-12-31"},
    ]
    assert (
        msgspec.to_builtins(
            (await services.accounts.account(SYSTEM, neighbour.account_id)).expiring
        )
        == []
    )
    emptied = await LotTotal.select(LotTotal.points).where(
        LotTotal.account_id == world.account_id, LotTotal.expires_on == date(2026, 12, 31)
    )
    assert [row["points"] for row in emptied] == [0]


async def test_an_account_without_lots_reads_as_before(services: Services) -> None:
    world = await make_world(services)
    view = await services.accounts.account(SYSTEM, world.account_id)
    assert msgspec.to_builtins(view.expiring) == [] == await _old_expiring(world.account_id)


# -- proved by verify --------------------------------------------------------------------------


async def test_verify_flags_a_total_changed_behind_the_ledgers_back(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 30)
    await _agree(services, world.account_id)
    await LotTotal.raw(
        "UPDATE lot_total SET points = points + 1 WHERE account_id = {}", world.account_id
    )
    report = await services.verifier.verify()
    assert not report.ok
    failed = [check for check in report.checks if not check.ok]
    assert [check.name for check in failed] == ["lot_totals_match_lots"]
    expires = (await _old_expiring(world.account_id))[0]["expires_on"]
    assert failed[0].detail == (
        f"account {world.account_id}, expiring {expires}: the total says 31 but its lots hold 30"
    )


async def test_verify_flags_open_lots_without_a_total(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 30)
    await LotTotal.raw("DELETE FROM lot_total WHERE account_id = {}", world.account_id)
    report = await services.verifier.verify()
    failed = [check for check in report.checks if not check.ok]
    assert [check.name for check in failed] == ["lot_totals_match_lots"]
    assert failed[0].detail.endswith("its lots hold 30 points but it has no total")
