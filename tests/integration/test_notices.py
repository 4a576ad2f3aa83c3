"""Notices: each kind from its real service path, exactly once under re-apply and rebuild, read
marks and the unread count (both engines)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from api import cli
from api.settings import Settings
from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.errors import InvalidInput
from ledger.domain.notices import MEMBER_JOINED_EVENT
from ledger.domain.rules import Grade, Stream
from ledger.services.appeals import AppealDecided
from ledger.services.container import Services
from ledger.services.notices import Marked
from ledger.store import members
from ledger.store.engine import current_engine, is_sqlite
from ledger.store.tables import Notice, NoticeFact
from tests.conftest import DATABASE_URL
from tests.factories import (
    TEST_SECRET_KEY,
    FrozenClock,
    credit,
    event_id,
    make_household,
    make_user,
)
from tests.integration.earning_helpers import (
    Site,
    grade,
    make_post,
    make_site,
    make_volunteer,
)


async def project(services: Services) -> None:
    """What the background loops do: the sealer numbers the facts, the projector applies them."""
    await services.sealer.seal_all()
    await services.notice_projector.catch_up()


async def inbox(services: Services, reader: Principal) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await services.notices.inbox(reader, None, 500)).items
    return items


async def kinds(services: Services, reader: Principal) -> list[str]:
    return [item["kind"] for item in await inbox(services, reader)]


async def appeal_decided(services: Services, site: Site, upheld: bool) -> AppealDecided:
    poor = await grade(services, site, Stream.KITCHEN, Grade.POOR)
    opened = await services.appeals.open(site.resident, event_id(), poor.inspection_id, "分得很好")
    decided = await services.appeals.decide(
        site.coordinator,
        event_id("decide"),
        opened.appeal_id,
        upheld,
        Grade.GOOD if upheld else None,
    )
    return decided


async def test_an_appeal_decision_reaches_every_member_of_the_household_once(
    services: Services,
) -> None:
    site = await make_site(services)
    other_member = await make_user(services, Role.RESIDENT, household_id=site.world.household_id)
    neighbour_household = await make_household(services, site.world.compound_id)
    neighbour = await make_user(services, Role.RESIDENT, household_id=neighbour_household.id)
    decided = await appeal_decided(services, site, upheld=True)
    await project(services)

    for reader in (site.resident, other_member):
        [notice] = await inbox(services, reader)
        assert notice["kind"] == "appeal_decided"
        assert notice["outcome"] == "upheld"
        assert notice["new_grade"] == "good"
        assert notice["appeal_id"] == decided.appeal_id
        assert notice["household_id"] == site.world.household_id
        assert notice["read"] is False
    assert await inbox(services, neighbour) == []
    assert await inbox(services, site.coordinator) == []

    # Applying again, a second projector at once, and a rebuild: still one notice, same id.
    first_id = (await inbox(services, site.resident))[0]["id"]
    await asyncio.gather(services.notice_projector.catch_up(), services.notice_projector.catch_up())
    await services.notice_projector.rebuild()
    await project(services)
    assert [n["id"] for n in await inbox(services, site.resident)] == [first_id]
    assert await Notice.count() == 1


async def test_a_rejected_appeal_says_so(services: Services) -> None:
    site = await make_site(services)
    await appeal_decided(services, site, upheld=False)
    await project(services)
    [notice] = await inbox(services, site.resident)
    assert (notice["kind"], notice["outcome"]) == ("appeal_decided", "rejected")
    assert "new_grade" not in notice


async def test_a_replayed_or_refused_decision_makes_no_second_notice(
    services: Services,
) -> None:
    site = await make_site(services)
    poor = await grade(services, site, Stream.KITCHEN, Grade.POOR)
    opened = await services.appeals.open(site.resident, event_id(), poor.inspection_id, "错判")
    key = event_id("decide")
    for _ in range(2):  # the same event id: the stored outcome is replayed
        await services.appeals.decide(site.coordinator, key, opened.appeal_id, False, None)
    with pytest.raises(Exception, match="already"):  # refused: already decided
        await services.appeals.decide(
            site.coordinator, event_id(), opened.appeal_id, True, Grade.GOOD
        )
    await project(services)
    assert await kinds(services, site.resident) == ["appeal_decided"]


async def test_shift_decisions_reach_the_volunteer(services: Services, clock: FrozenClock) -> None:
    site = await make_site(services)
    post = await make_post(services, site, "东门岗")
    volunteer = await make_volunteer(services, site)
    other = await make_volunteer(services, site, "李明")
    shift_ids = []
    for _ in range(2):
        opened = await services.shifts.check_in(volunteer.member, event_id(), post)
        clock.advance(hours=2)
        await services.shifts.check_out(volunteer.member, event_id(), post)
        shift_ids.append(opened.shift_id)
        clock.advance(hours=1)
    await services.shifts.decide(site.coordinator, event_id(), [shift_ids[0]], True)
    await services.shifts.decide(site.coordinator, event_id(), [shift_ids[1]], False)
    await project(services)

    notices = await inbox(services, volunteer.member)
    assert [(n["kind"], n["shift_id"], n["outcome"]) for n in notices] == [
        ("shift_decided", shift_ids[1], "declined"),
        ("shift_decided", shift_ids[0], "approved"),
    ]
    assert notices[1]["minutes"] == 120
    assert notices[1]["points_awarded"] > 0
    assert await inbox(services, other.member) == []


async def test_redemptions_payments_and_a_new_card_reach_the_household(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    world = site.world
    await credit(services, world.account_id, 100)
    reward = await services.registry.create_reward(
        SYSTEM, event_id(), world.community_id, "洗洁精", 30, 5, None
    )
    merchant = await services.registry.create_merchant(
        SYSTEM, event_id(), world.community_id, "菜场 13812345678"
    )
    await services.spending.redeem(site.clerk, event_id(), world.card_token, reward.id, 1)
    await services.spending.pay(site.clerk, event_id(), world.card_token, merchant.id, 20)
    await services.registry.reissue_card(SYSTEM, event_id(), world.household_id)
    await project(services)

    card, paid, redeemed = await inbox(services, site.resident)
    assert (redeemed["kind"], redeemed["spent_on"], redeemed["points"]) == (
        "spent",
        "redemption",
        30,
    )
    assert (redeemed["reward"], redeemed["quantity"], redeemed["balance_points"]) == (
        "洗洁精",
        1,
        70,
    )
    assert (paid["kind"], paid["spent_on"], paid["points"]) == ("spent", "payment", 20)
    assert paid["merchant"] == "菜场 138****5678"  # never a phone number in clear
    assert card["kind"] == "card_reissued"
    assert "card_token" not in card
    assert "short_code" not in card


async def test_points_expiring_are_warned_at_most_once_a_week(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    clock.moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    await credit(services, site.world.account_id, 60)  # earned in 2026: valid through 2027-12-31
    later = await make_household(services, site.world.compound_id)
    later_member = await make_user(services, Role.RESIDENT, household_id=later.id)
    clock.moment = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    await credit(services, later.account_id, 10)  # valid through 2028-12-31: not warned

    clock.moment = datetime(2027, 11, 20, 2, 0, tzinfo=UTC)  # 41 days before: too early
    assert (await services.expiry.warn()).warned == 0
    clock.moment = datetime(2027, 12, 5, 2, 0, tzinfo=UTC)
    assert (await services.expiry.warn()).warned == 1
    assert (await services.expiry.warn()).warned == 0  # the same day again
    clock.advance(days=6, hours=23)
    assert (await services.expiry.warn()).warned == 0  # within the week
    clock.advance(hours=1)
    assert (await services.expiry.warn()).warned == 1
    await project(services)

    notices = await inbox(services, site.resident)
    assert [n["kind"] for n in notices] == ["points_expiring", "points_expiring"]
    assert (notices[0]["points"], notices[0]["expires_on"]) == (60, "2027-12-31")
    assert await inbox(services, later_member) == []


async def test_two_warning_runs_at_once_warn_once(services: Services, clock: FrozenClock) -> None:
    site = await make_site(services)
    clock.moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    await credit(services, site.world.account_id, 60)
    clock.moment = datetime(2027, 12, 5, 2, 0, tzinfo=UTC)
    await asyncio.gather(*(services.expiry.warn() for _ in range(4)))
    await project(services)
    assert await kinds(services, site.resident) == ["points_expiring"]


async def join(services: Services, household_id: int, display_name: str, key: str) -> Principal:
    """What the join service does (issue 15, item 1): the member row and the audited event
    `household.member_joined`, through `Runner.once` like every audited write."""
    joiner = await make_user(services, Role.RESIDENT)

    async def action() -> dict[str, Any]:
        await members.add(household_id, joiner.user_id, helper=False, at=services.clock.now())
        return {
            "household_id": household_id,
            "user_id": joiner.user_id,
            "display_name": display_name,
            "helper": False,
        }

    inputs = {"household_id": household_id, "phone": "13812345678"}
    await services.runner.once(MEMBER_JOINED_EVENT, key, joiner, inputs, action, dict)
    return joiner


async def test_a_member_joining_is_heard_by_the_other_members_only(services: Services) -> None:
    site = await make_site(services)
    key = event_id("join")
    joiner = await join(services, site.world.household_id, "13812345678", key)
    await services.runner.once(  # the same event again: replayed, nothing new
        MEMBER_JOINED_EVENT,
        key,
        joiner,
        {"household_id": site.world.household_id, "phone": "13812345678"},
        _unreachable,
        dict,
    )
    await project(services)

    [notice] = await inbox(services, site.resident)
    assert notice["kind"] == "member_joined"
    assert notice["user_id"] == joiner.user_id
    assert notice["display_name"] == "138****5678"
    assert notice["helper"] is False
    assert await inbox(services, joiner) == []  # not the news of one's own joining
    fact = await NoticeFact.select(NoticeFact.payload).first()
    assert fact is not None
    assert "13812345678" not in fact["payload"]


async def _unreachable() -> dict[str, Any]:
    raise AssertionError("a replayed event is not carried out again")


async def test_read_marks_the_unread_count_and_a_rebuild_keeps_them(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    other_member = await make_user(services, Role.RESIDENT, household_id=site.world.household_id)
    for _ in range(3):
        await services.registry.reissue_card(SYSTEM, event_id(), site.world.household_id)
    await project(services)
    ids = [n["id"] for n in await inbox(services, site.resident)]
    assert await services.notices.unread(site.resident) == 3

    _newest, middle, oldest = ids  # newest first
    marked = await services.notices.mark_read(site.resident, [oldest], None)
    assert marked == Marked(marked=1, unread=2)
    assert await services.notices.mark_read(site.resident, [oldest], None) == Marked(0, 2)
    assert await services.notices.mark_read(site.resident, None, middle) == Marked(1, 1)
    assert await services.notices.unread(other_member) == 3  # read marks are per person

    await services.notice_projector.rebuild()
    assert [n["read"] for n in await inbox(services, site.resident)] == [False, True, True]

    # Someone else's notice cannot be marked; nor neither or both ways at once.
    stranger = await make_user(services, Role.RESIDENT)
    assert (await services.notices.mark_read(stranger, ids, None)).marked == 0
    assert await services.notices.unread(site.resident) == 1
    for ids_given, up_to in ((None, None), (ids, ids[0])):
        with pytest.raises(InvalidInput):
            await services.notices.mark_read(site.resident, ids_given, up_to)


async def test_the_inbox_pages_newest_first(services: Services) -> None:
    site = await make_site(services)
    for _ in range(5):
        await services.registry.reissue_card(SYSTEM, event_id(), site.world.household_id)
    await project(services)
    first = await services.notices.inbox(site.resident, None, 2)
    second = await services.notices.inbox(site.resident, first.next_cursor, 2)
    third = await services.notices.inbox(site.resident, second.next_cursor, 2)
    ids = [n["id"] for page in (first, second, third) for n in page.items]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 5
    assert third.next_cursor is None


async def test_greenledger_rebuild_notices_and_expire_from_the_command_line(
    fresh_db: None,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI runs its own event loop (in a thread here) and its own pool: the workload is
    written first on services of this test's, closed again (as tests/integration/
    test_projection_cli.py does)."""
    clock = FrozenClock(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    await services.db.start()
    try:
        site = await make_site(services)
        await credit(services, site.world.account_id, 60)
        await services.registry.reissue_card(SYSTEM, event_id(), site.world.household_id)
        await project(services)
        [notice] = await inbox(services, site.resident)
        await services.notices.mark_read(site.resident, [notice["id"]], None)
    finally:
        await services.db.close()
    url = str(current_engine().path) if is_sqlite() else DATABASE_URL  # type: ignore[attr-defined]
    monkeypatch.setenv("GREENLEDGER_DATABASE_URL", url)
    monkeypatch.setenv("GREENLEDGER_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("GREENLEDGER_REDIS_URL", raising=False)

    assert await asyncio.to_thread(cli.main, ["rebuild-notices"]) == 0
    assert "rebuilt 1 notices" in capsys.readouterr().out
    assert await asyncio.to_thread(cli.main, ["expire", "--as-of", "2027-12-05"]) == 0
    # The warning is for today's clock (the server's), far from 2027: nobody is warned today.
    assert "warned 0 households" in capsys.readouterr().out

    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    await services.db.start()
    try:
        [again] = await inbox(services, site.resident)
        assert (again["id"], again["read"]) == (notice["id"], True)
    finally:
        await services.db.close()
