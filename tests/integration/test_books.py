"""The books (issue 19 part 1): the liability report against a world worked out by hand, reward
costs with their history, and `verify`'s own check of the books. Runs on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import InvalidInput, NotFound
from ledger.domain.rules import Grade, Material, Stream
from ledger.services import books
from ledger.services.catalog import RewardFields
from ledger.services.container import Services
from ledger.store.tables import Account, Redemption, RewardCost
from tests.factories import FrozenClock, event_id, make_household, make_user
from tests.integration.earning_helpers import grade, hangzhou, make_post, make_site, make_volunteer

NOVEMBER, DECEMBER = 11, 12


async def _world(services: Services, clock: FrozenClock) -> dict[str, int]:
    """Worked by hand (points):

    2024-06-10  A +40 adjustment (its lot expires 2025-12-31)       before the period
    Nov  3      expiry run: A −40                                     expired 40
    Nov  5      A graded good +10; A weighs 2.5 kg paper +250         gradings 10, weigh-ins 250
    Nov  6      a volunteer's 100 min shift → 90 min → +15           hours 15
    Nov  7      B +20 adjustment, A −5 adjustment                     adjustments 15
    Nov  1      towel's cost set at 12.00 yuan from Nov 1 (threshold 9 units)
    Nov 10      A redeems a towel (100 points; 12.00 yuan)
    Nov 15      towel's cost set at 15.00 yuan from then on
    Nov 20      A redeems a towel (100 points; 15.00 yuan)            redeemed 200, 27.00 yuan
    Nov 21      A pays the shop 30                                    paid 30
      Nov end: outstanding 40 + 290 − 200 − 30 − 40 = 60 (A 25, B 20, volunteer 15);
      the shop holds 30; 2700 fen ÷ 200 points = 13.5 fen a point → 60 × 13.5 = 810 fen.
    Dec  2      the shop is settled                                   settled 30
    Dec  3      B graded good +10                                     gradings 10
    Dec  4      the Nov 20 towel is refunded (+100; −15.00 yuan)      redeemed −100
      Dec end: outstanding 60 + 10 + 100 = 170; no priced redemption of its own, so the
      period's rate: (2700 − 1500) ÷ (200 − 100) = 12 fen a point → 170 × 12 = 2040 fen.
      Towels: 10 − 2 + 1 = 9 in stock, at the threshold 9: reorder.
    """
    clock.moment = datetime(2024, 6, 10, 2, tzinfo=UTC)
    site = await make_site(services)
    world = site.world
    other = await make_household(services, world.compound_id, building="9", room="901")
    await services.accounts.adjust(SYSTEM, event_id(), world.account_id, 40, "旧积分")
    clock.moment = hangzhou(3, 10, month=NOVEMBER)
    assert (await services.expiry.run(date(2026, 11, 3))).expired_points == 40
    clock.moment = hangzhou(1, 9, month=NOVEMBER)
    towel = await services.catalog.create(
        SYSTEM, event_id(), world.community_id, RewardFields(name="毛巾", cost_points=100, stock=10)
    )
    await services.books.set_cost(
        SYSTEM, event_id(), world.community_id, towel.id, 1200, date(2026, 11, 1)
    )
    await services.books.set_threshold(SYSTEM, event_id(), world.community_id, towel.id, 9)
    clock.moment = hangzhou(5, 8, month=NOVEMBER)
    await grade(services, site, Stream.KITCHEN, Grade.GOOD)
    await services.scans.weighin(site.clerk, event_id(), world.card_token, Material.PAPER, 2500)
    clock.moment = hangzhou(6, 9, month=NOVEMBER)
    volunteer = await make_volunteer(services, site)
    post = await make_post(services, site, "东门岗")
    shift = await services.shifts.check_in(volunteer.member, event_id(), post)
    clock.advance(minutes=100)
    await services.shifts.check_out(volunteer.member, event_id(), post)
    await services.shifts.decide(site.coordinator, event_id(), [shift.shift_id], True)
    clock.moment = hangzhou(7, 9, month=NOVEMBER)
    await services.accounts.adjust(SYSTEM, event_id(), other.account_id, 20, "补发")
    await services.accounts.adjust(SYSTEM, event_id(), world.account_id, -5, "多发")
    clock.moment = hangzhou(10, 9, month=NOVEMBER)
    await services.spending.redeem(SYSTEM, event_id(), world.card_token, towel.id, 1)
    clock.moment = hangzhou(15, 9, month=NOVEMBER)
    await services.books.set_cost(SYSTEM, event_id(), world.community_id, towel.id, 1500)
    clock.moment = hangzhou(20, 9, month=NOVEMBER)
    second = await services.spending.redeem(SYSTEM, event_id(), world.card_token, towel.id, 1)
    clock.moment = hangzhou(21, 9, month=NOVEMBER)
    shop = await services.registry.create_merchant(SYSTEM, event_id(), world.community_id, "小卖部")
    await services.spending.pay(SYSTEM, event_id(), world.card_token, shop.id, 30)
    clock.moment = hangzhou(2, 9, month=DECEMBER)
    await services.spending.settle(SYSTEM, event_id(), shop.id)
    clock.moment = hangzhou(3, 8, month=DECEMBER)
    await grade(services, site, Stream.KITCHEN, Grade.GOOD, card=other.card_token)
    clock.moment = hangzhou(4, 9, month=DECEMBER)
    await services.spending.refund(SYSTEM, event_id(), second.redemption_id, "有破损")
    clock.moment = hangzhou(10, 9, month=DECEMBER)
    return {
        "community_id": world.community_id,
        "towel": towel.id,
        "shop": shop.id,
        "account": world.account_id,
    }


async def _report(services: Services, community_id: int) -> books.LiabilityReport:
    return await books.liability_report(
        community_id, date(2026, 11, 1), date(2026, 12, 31), services.clock.now()
    )


async def test_the_liability_report_has_every_figure_worked_out_by_hand(
    services: Services, clock: FrozenClock
) -> None:
    known = await _world(services, clock)
    report = await _report(services, known["community_id"])
    november, december = report.months
    assert (november.month, november.first_day, november.last_day) == (
        "2026-11",
        "2026-11-01",
        "2026-11-30",
    )
    assert (
        november.issued_gradings,
        november.issued_weighins,
        november.issued_dropoffs,
        november.issued_hours,
        november.issued_adjustments,
        november.issued_total,
    ) == (10, 250, 0, 15, 15, 290)
    assert (november.redeemed, november.paid_to_merchants, november.expired) == (200, 30, 40)
    assert (november.settled, november.outstanding, november.merchants_unsettled) == (0, 60, 30)
    assert (november.redeemed_units, november.redeemed_value_fen) == (2, 2700)
    assert (november.redeemed_value_yuan, november.unpriced_units) == ("27.00", 0)
    assert november.yuan_per_point == "0.1350"
    assert (november.outstanding_estimate_fen, november.outstanding_estimate_yuan) == (
        810,
        "8.10",
    )
    assert (december.issued_gradings, december.issued_total, december.redeemed) == (10, 10, -100)
    assert (december.settled, december.merchants_unsettled, december.outstanding) == (30, 0, 170)
    assert (december.redeemed_units, december.redeemed_value_fen) == (-1, -1500)
    assert december.yuan_per_point == "0.1200"
    assert december.outstanding_estimate_fen == 2040
    assert [(m.merchant, m.unsettled_points) for m in report.merchants] == [("小卖部", 0)]
    [towel] = report.reward_stock
    assert (towel.reward, towel.stock, towel.reorder_threshold, towel.reorder) == (
        "毛巾",
        9,
        9,
        True,
    )
    assert (towel.cost_fen, towel.cost_yuan) == (1500, "15.00")


async def test_a_period_inside_a_month_counts_only_its_days(
    services: Services, clock: FrozenClock
) -> None:
    known = await _world(services, clock)
    report = await books.liability_report(
        known["community_id"], date(2026, 11, 6), date(2026, 11, 12), services.clock.now()
    )
    [week] = report.months
    assert (week.first_day, week.last_day) == ("2026-11-06", "2026-11-12")
    assert (week.issued_hours, week.issued_adjustments, week.issued_gradings) == (15, 15, 0)
    assert (week.redeemed, week.redeemed_value_fen, week.expired) == (100, 1200, 0)
    # At the end of Nov 12: 10 + 250 + 15 + 15 − 100 (the expiry came before the period).
    assert week.outstanding == 190


async def test_verify_proves_the_books_and_fails_on_a_tampered_row(
    services: Services, clock: FrozenClock
) -> None:
    known = await _world(services, clock)
    report = await services.verifier.verify()
    assert report.ok, report
    [check] = [c for c in report.checks if c.name == "books_match_ledger"]
    assert check.ok, check
    # A redemption row that says more points than its entry: only the books can tell.
    await Redemption.raw(
        "UPDATE redemption SET points = points + 7 WHERE reward = {}", known["towel"]
    )
    report = await services.verifier.verify()
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["books_match_ledger"], failed
    assert "the redemptions say" in failed["books_match_ledger"]
    await Redemption.raw(
        "UPDATE redemption SET points = points - 7 WHERE reward = {}", known["towel"]
    )
    assert (await services.verifier.verify()).ok
    # A household's stored balance nudged: the books see holders hold more than was issued.
    await Account.raw(
        "UPDATE account SET balance_points = balance_points + 1 WHERE id = {}", known["account"]
    )
    report = await services.verifier.verify()
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert "books_match_ledger" in failed
    assert "households and volunteers hold 171" in failed["books_match_ledger"]


async def test_costs_keep_their_history_and_refuse_bad_input(
    services: Services, clock: FrozenClock
) -> None:
    known = await _world(services, clock)
    community_id, towel = known["community_id"], known["towel"]
    history = await services.books.costs(towel)
    assert [(c.cost_fen, c.cost_yuan) for c in history] == [(1200, "12.00"), (1500, "15.00")]
    assert history[0].effective_from == "2026-10-31T16:00:00+00:00"  # local midnight, Nov 1
    again = event_id()
    first = await services.books.set_cost(SYSTEM, again, community_id, towel, 1800)
    assert await services.books.set_cost(SYSTEM, again, community_id, towel, 1800) == first
    assert len(await services.books.costs(towel)) == 3
    with pytest.raises(InvalidInput, match="cost_fen"):
        await services.books.set_cost(SYSTEM, event_id(), community_id, towel, -1)
    with pytest.raises(NotFound):
        await services.books.set_cost(SYSTEM, event_id(), community_id, 999_999, 100)
    elsewhere = await services.registry.create_community(SYSTEM, event_id(), "湖墅街道")
    with pytest.raises(NotFound):
        await services.books.set_cost(SYSTEM, event_id(), elsewhere.id, towel, 100)
    with pytest.raises(InvalidInput, match="threshold"):
        await services.books.set_threshold(SYSTEM, event_id(), community_id, towel, -1)
    assert len(await services.books.costs(towel)) == 3
    # The history is append-only in the database itself.
    with pytest.raises(Exception, match="append-only"):
        await RewardCost.raw("UPDATE reward_cost SET cost_fen = 1 WHERE reward = {}", towel)
    with pytest.raises(Exception, match="append-only"):
        await RewardCost.raw("DELETE FROM reward_cost WHERE reward = {}", towel)
    staff = await make_user(services, Role.ADMIN)
    lowered = await services.books.set_threshold(staff, event_id(), community_id, towel, 3)
    assert (lowered.threshold, lowered.stock, lowered.reorder) == (3, 9, False)
