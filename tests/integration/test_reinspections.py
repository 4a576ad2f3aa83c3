"""Re-inspection sampling (issue 19, 2(b)) on both engines: the keyed draw with a fixed secret,
drawn once, re-graded once by its coordinator, a disagreement corrected through the appeal's
path (the ledger balanced, `verify` clean), and the disagreement rate per inspector."""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from datetime import date

import pytest
from PIL import Image

from ledger.domain.access import Principal, Role
from ledger.domain.errors import AlreadyDecided, AppealClosed, Forbidden, InvalidInput, NotFound
from ledger.domain.inspection_checks import sampling_seed
from ledger.domain.rules import Grade, Stream
from ledger.services.appeals import correct_grade
from ledger.services.container import Services
from ledger.services.grading import Graded, Grading
from ledger.services.reinspections import CAUSE, disagreement_report
from ledger.store import appeals as appeals_store
from ledger.store.appeals import NewAppeal
from ledger.store.tables import Entry, Reinspection
from tests.factories import event_id, make_household, make_user
from tests.integration.earning_helpers import Site, balance, make_site

DAY = date(2026, 11, 25)  # the frozen clock's local day


def jpeg(seed: int) -> bytes:
    image = Image.new("RGB", (16, 12), ((seed * 37) % 256, (seed * 91) % 256, 120))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


@dataclass
class Graders:
    site: Site
    second: Principal  # another inspector of the same compound
    cards: list[str]
    accounts: dict[int, int]  # household id → account id
    with_photo: dict[int, list[int]]  # inspector user id → inspection ids


async def photo(services: Services, inspector: Principal, seed: int) -> str:
    return (await services.photos.store(inspector, jpeg(seed), "image/jpeg")).ref


async def grade(
    services: Services,
    site: Site,
    inspector: Principal,
    card: str,
    stream: Stream,
    value: Grade,
    ref: str | None,
) -> Graded:
    reasons = [] if value is Grade.GOOD else ["wrong_bin"]
    grading = Grading(event_id("g"), card, site.point.token, stream, value, reasons, ref)
    return await services.gradings.inspect(inspector, grading)


async def graded_day(services: Services) -> Graders:
    """Inspector one grades 6 households' kitchen waste with a photo (fair), inspector two 3
    with a photo (good) and 2 without; then the clock moves to the next day."""
    site = await make_site(services)
    compounds = frozenset({site.world.compound_id})
    second = await make_user(services, Role.INSPECTOR, compound_ids=compounds)
    households = [await make_household(services, site.world.compound_id) for _ in range(6)]
    cards = [h.card_token for h in households]
    first_ref, second_ref = (
        await photo(services, site.inspector, 1),
        await photo(services, second, 2),
    )
    with_photo: dict[int, list[int]] = {site.inspector.user_id: [], second.user_id: []}
    for card in cards:
        done = await grade(
            services, site, site.inspector, card, Stream.KITCHEN, Grade.FAIR, first_ref
        )
        with_photo[site.inspector.user_id].append(done.inspection_id)
    for card in cards[:3]:
        done = await grade(services, site, second, card, Stream.RECYCLABLE, Grade.GOOD, second_ref)
        with_photo[second.user_id].append(done.inspection_id)
    for card in cards[3:5]:
        await grade(services, site, second, card, Stream.RECYCLABLE, Grade.GOOD, None)
    services.clock.advance(days=1)  # type: ignore[attr-defined]
    accounts = {h.id: h.account_id for h in households}
    return Graders(site, second, cards, accounts, with_photo)


def lowest_ticket(seed: bytes, ids: list[int]) -> int:
    """The keyed lottery, written out independently of the domain's code."""
    return min(ids, key=lambda i: hashlib.sha256(seed + str(i).encode()).digest())


async def test_the_draw_takes_each_inspectors_lowest_ticket_and_is_stored_once(
    services: Services,
) -> None:
    world = await graded_day(services)
    coordinator = world.site.coordinator
    seed = sampling_seed(services.reinspections.secret, coordinator.user_id, DAY)

    sample = await services.reinspections.sample(coordinator)

    assert sample.day == DAY.isoformat()
    chosen = {item.inspector_id: item.inspection_id for item in sample.items}
    assert chosen == {
        inspector: lowest_ticket(seed, ids) for inspector, ids in world.with_photo.items()
    }
    assert {item.photo_ref.startswith("sha256:") for item in sample.items} == {True}
    again = await services.reinspections.sample(coordinator, DAY)
    assert again == sample  # read back, not drawn again
    assert await Reinspection.count() == 2
    # Another coordinator of the compound draws from what is left: nothing drawn twice.
    other = await make_user(
        services, Role.COORDINATOR, compound_ids=frozenset({world.site.world.compound_id})
    )
    theirs = await services.reinspections.sample(other, DAY)
    assert {i.inspection_id for i in theirs.items}.isdisjoint(chosen.values())
    assert len(theirs.items) == 2


async def test_only_a_closed_day_and_only_coordinators(services: Services) -> None:
    world = await graded_day(services)
    with pytest.raises(InvalidInput, match="closed day"):
        await services.reinspections.sample(world.site.coordinator, date(2026, 11, 26))
    with pytest.raises(Forbidden):
        await services.reinspections.sample(world.site.inspector, DAY)


async def test_a_disagreeing_regrade_is_corrected_as_an_upheld_appeal(services: Services) -> None:
    world = await graded_day(services)
    coordinator = world.site.coordinator
    sample = await services.reinspections.sample(coordinator)
    fair = next(i for i in sample.items if i.original_grade == "fair")
    account = world.accounts[fair.household_id]
    before = await balance(services, account)  # fair: 5 points, and maybe 10 for recyclables
    key = event_id("regrade")

    decided = await services.reinspections.regrade(
        coordinator, key, fair.reinspection_id, Grade.GOOD
    )

    assert decided.corrected
    assert decided.points_awarded == 10
    assert await balance(services, account) == before - 5 + 10  # fair's 5 reversed, 10 credited
    memos = [row["memo"] for row in await Entry.select(Entry.memo).order_by(Entry.id)]
    assert f"re-inspection of inspection {fair.inspection_id}: good" in memos
    assert f"re-inspection corrected inspection {fair.inspection_id}" in memos
    replay = await services.reinspections.regrade(
        coordinator, key, fair.reinspection_id, Grade.GOOD
    )
    assert replay == decided
    assert await balance(services, account) == before + 5
    with pytest.raises(AlreadyDecided):
        await services.reinspections.regrade(
            coordinator, event_id(), fair.reinspection_id, Grade.POOR
        )
    # The household cannot have the corrected grade changed once more by an appeal.
    member = await make_user(services, Role.RESIDENT, household_id=fair.household_id)
    with pytest.raises(AppealClosed, match="re-inspection"):
        await services.appeals.open(member, event_id(), fair.inspection_id, "再看看")
    await services.sealer.seal_all()
    report = await services.verifier.verify()
    assert report.ok, report


async def test_an_agreeing_regrade_moves_nothing_and_only_its_coordinator_decides(
    services: Services,
) -> None:
    world = await graded_day(services)
    sample = await services.reinspections.sample(world.site.coordinator)
    good = next(i for i in sample.items if i.original_grade == "good")
    entries_before = await Entry.count()
    other = await make_user(
        services, Role.COORDINATOR, compound_ids=frozenset({world.site.world.compound_id})
    )
    with pytest.raises(Forbidden, match="another coordinator"):
        await services.reinspections.regrade(other, event_id(), good.reinspection_id, Grade.GOOD)
    with pytest.raises(NotFound):
        await services.reinspections.regrade(other, event_id(), 999, Grade.GOOD)

    decided = await services.reinspections.regrade(
        world.site.coordinator, event_id(), good.reinspection_id, Grade.GOOD
    )

    assert not decided.corrected
    assert decided.credit_entry_id is None
    assert await Entry.count() == entries_before


async def test_the_disagreement_rate_per_inspector(services: Services) -> None:
    world = await graded_day(services)
    coordinator = world.site.coordinator
    first = await services.reinspections.sample(coordinator)
    for item in first.items:  # inspector one's fair becomes poor; inspector two's good stays
        await services.reinspections.regrade(
            coordinator,
            event_id(),
            item.reinspection_id,
            Grade.POOR if item.original_grade == "fair" else Grade.GOOD,
        )

    report = await disagreement_report(world.site.world.community_id, DAY, DAY)

    rates = {
        row.inspector_id: (row.regraded, row.disagreed, row.disagreement_rate)
        for row in report.rows
    }
    assert rates == {
        world.site.inspector.user_id: (1, 1, 1.0),
        world.second.user_id: (1, 0, 0.0),
    }


async def test_a_decided_sample_cannot_be_changed_in_the_database(services: Services) -> None:
    world = await graded_day(services)
    sample = await services.reinspections.sample(world.site.coordinator)
    item, other = sample.items
    moment = services.clock.now()
    with pytest.raises(Exception, match=r"(?i)check"):  # a grade that is not one of the three
        await Reinspection.update(
            {
                Reinspection.regraded_grade: "great",
                Reinspection.decided_at: moment,
                Reinspection.decided_by: world.site.coordinator.user_id,
            }
        ).where(Reinspection.id == other.reinspection_id)
    with pytest.raises(Exception, match=r"(?i)check"):  # a grade without when and by whom
        await Reinspection.update({Reinspection.regraded_grade: "good"}).where(
            Reinspection.id == other.reinspection_id
        )
    await services.reinspections.regrade(
        world.site.coordinator, event_id(), item.reinspection_id, Grade.GOOD
    )
    with pytest.raises(Exception, match="decided"):
        await Reinspection.update({Reinspection.regraded_grade: "poor"}).where(
            Reinspection.id == item.reinspection_id
        )


async def test_concurrent_first_draws_keep_one_draw(services: Services) -> None:
    """Five requests for the same coordinator's first draw at once (and another coordinator's
    of the same compound): one draw each, no grading in two."""
    world = await graded_day(services)
    other = await make_user(
        services, Role.COORDINATOR, compound_ids=frozenset({world.site.world.compound_id})
    )
    asking = [world.site.coordinator] * 5 + [other] * 2
    samples = await asyncio.gather(*(services.reinspections.sample(c, DAY) for c in asking))

    mine = {tuple(i.inspection_id for i in s.items) for s in samples[:5]}
    theirs = {tuple(i.inspection_id for i in s.items) for s in samples[5:]}
    assert len(mine) == 1
    assert len(theirs) == 1
    assert len(next(iter(mine))) == 2
    assert await Reinspection.count() == 4
    assert set(next(iter(mine))).isdisjoint(next(iter(theirs)))


async def test_a_grade_the_household_appealed_after_the_draw_is_left_to_the_appeal(
    services: Services,
) -> None:
    world = await graded_day(services)
    sample = await services.reinspections.sample(world.site.coordinator)
    item = sample.items[0]
    member = await make_user(services, Role.RESIDENT, household_id=item.household_id)
    await services.appeals.open(member, event_id(), item.inspection_id, "评错了")
    entries = await Entry.count()

    with pytest.raises(AlreadyDecided, match="appeal"):
        await services.reinspections.regrade(
            world.site.coordinator, event_id(), item.reinspection_id, Grade.POOR
        )

    assert await Entry.count() == entries


async def test_an_appeal_opened_while_the_regrade_committed_cannot_correct_it_again(
    services: Services,
) -> None:
    """review19: opening an appeal checks "not corrected on re-inspection" without waiting for
    a re-grade in flight (PostgreSQL, read committed), so an appeal can be open on a grade the
    re-inspection has since corrected. Upholding it must not correct it a second time: the
    re-inspection's credit would stay and a second one be added (only the first, original
    entry is ever reversed). The race's outcome is made here directly: the appeal row added
    after the correction, as the racing open would have added it."""
    world = await graded_day(services)
    coordinator = world.site.coordinator
    sample = await services.reinspections.sample(coordinator)
    fair = next(i for i in sample.items if i.original_grade == "fair")
    account = world.accounts[fair.household_id]
    await services.reinspections.regrade(coordinator, event_id(), fair.reinspection_id, Grade.GOOD)
    corrected = await balance(services, account)
    member = await make_user(services, Role.RESIDENT, household_id=fair.household_id)
    async with services.db.write():
        appeal_id = await appeals_store.add(
            NewAppeal(
                fair.inspection_id,
                fair.household_id,
                fair.compound_id,
                "评错了",
                member.user_id,
                services.clock.now(),
            )
        )
    entries = await Entry.count()

    with pytest.raises(AppealClosed, match="re-inspection"):
        await services.appeals.decide(coordinator, event_id(), appeal_id, True, Grade.GOOD)

    assert await Entry.count() == entries
    assert await balance(services, account) == corrected
    rejected = await services.appeals.decide(coordinator, event_id(), appeal_id, False, None)
    assert rejected.status == "rejected"
    await services.sealer.seal_all()
    report = await services.verifier.verify()
    assert report.ok, report


async def test_a_regrade_racing_an_appeal_does_not_correct_it_twice(services: Services) -> None:
    """review19, the other order: regrade() checks "not appealed" before it takes the account
    lock, so an appeal opened and upheld meanwhile has corrected the grade by the time the
    re-inspection's correction runs; the correction itself refuses, under the lock."""
    world = await graded_day(services)
    coordinator = world.site.coordinator
    sample = await services.reinspections.sample(coordinator)
    fair = next(i for i in sample.items if i.original_grade == "fair")
    member = await make_user(services, Role.RESIDENT, household_id=fair.household_id)
    opened = await services.appeals.open(member, event_id(), fair.inspection_id, "评错了")
    await services.appeals.decide(coordinator, event_id(), opened.appeal_id, True, Grade.GOOD)
    entries = await Entry.count()

    with pytest.raises(AlreadyDecided, match="appeal"):
        async with services.db.write():
            await correct_grade(
                coordinator, event_id(), fair.inspection_id, Grade.POOR, services.clock.now(), CAUSE
            )

    assert await Entry.count() == entries
