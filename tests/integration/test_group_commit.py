"""Concurrent gradings share a transaction, and each gets the outcome it would get alone.

`Gradings` (services/grading.py) groups the gradings that arrive while a group is being
written. These tests send many at once through one process's committer, on both engines, and
check the grouping, each outcome, the rows, and that a failure of the group — a lost race, a
transient error, a bug hit by one grading, a request that went away — fails nobody else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from ledger import metrics
from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.accounts import issuance_stripe
from ledger.domain.errors import IdempotencyConflict, LedgerError, OutOfScope
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Material, Stream
from ledger.services import grading as committer
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.services.registry import HouseholdCreated
from ledger.store import batch_writes, idempotency
from ledger.store import earning as earning_store
from ledger.store.tables import Entry, IdempotencyRecord, Inspection, ShortCode
from tests.factories import event_id, make_household, make_user, make_world
from tests.integration.earning_helpers import balance, make_site

GOOD_POINTS = 10  # the default rules: a good first grade of a stream


def _histogram(name: str) -> tuple[float, float]:
    """(count, sum) of a histogram so far in this process."""
    count = total = 0.0
    for family in metrics.GRADING_GROUP.collect() + metrics.GRADING_WAIT.collect():
        for sample in family.samples:
            if sample.name == f"{name}_count":
                count = sample.value
            elif sample.name == f"{name}_sum":
                total = sample.value
    return count, total


async def _households(services: Services, compound_id: int, n: int) -> list[HouseholdCreated]:
    return [await make_household(services, compound_id, building=str(5 + i)) for i in range(n)]


def _inspect(
    services: Services, inspector: Principal, token: str, point_token: str, key: str | None = None
) -> Any:
    return services.gradings.inspect(
        inspector,
        Grading(key or event_id("g"), token, point_token, Stream.KITCHEN, Grade.GOOD, [], None),
    )


async def test_concurrent_gradings_go_in_one_group_and_each_gets_its_own_outcome(
    services: Services,
) -> None:
    site = await make_site(services)
    households = await _households(services, site.world.compound_id, 12)
    groups_before, sizes_before = _histogram("greenledger_grading_group_size")
    replies = await asyncio.gather(
        *(_inspect(services, site.inspector, h.card_token, site.point.token) for h in households)
    )
    groups, sizes = _histogram("greenledger_grading_group_size")
    assert sizes - sizes_before == 12
    assert groups - groups_before < 12  # some were written together
    for household, reply in zip(households, replies, strict=True):
        assert reply.points_awarded == GOOD_POINTS
        assert reply.balance_points == GOOD_POINTS
        assert await balance(services, household.account_id) == GOOD_POINTS
    assert len({reply.entry_id for reply in replies}) == 12
    assert len({reply.inspection_id for reply in replies}) == 12
    waited, _ = _histogram("greenledger_grading_wait_seconds")
    assert waited >= 12
    await services.sealer.seal_pending()
    assert (await services.verifier.verify()).ok


async def test_one_household_graded_twice_at_once_scores_once(services: Services) -> None:
    """In one group, in arrival order: the second grade of the stream that day scores nothing,
    and the balance after each is what it would be one after the other."""
    site = await make_site(services)
    token = site.world.card_token
    first, second = await asyncio.gather(
        _inspect(services, site.inspector, token, site.point.token),
        _inspect(services, site.inspector, token, site.point.token),
    )
    assert (first.scored, first.points_awarded, first.balance_points) == (True, 10, 10)
    assert (second.scored, second.points_awarded, second.balance_points) == (False, 0, 10)


async def test_several_inspectors_share_a_group_each_with_their_own_scope(
    services: Services,
) -> None:
    site = await make_site(services)
    elsewhere = await make_world(services, community="大关社区", compound="东一")
    outsider = await make_user(
        services, Role.INSPECTOR, compound_ids=frozenset({elsewhere.compound_id})
    )
    ours = await _households(services, site.world.compound_id, 3)
    same_id = event_id("shared")
    outcomes = await asyncio.gather(
        *(_inspect(services, site.inspector, h.card_token, site.point.token) for h in ours),
        _inspect(services, outsider, ours[0].card_token, site.point.token),  # not theirs
        _inspect(services, site.inspector, site.world.card_token, site.point.token, same_id),
        _inspect(services, outsider, site.world.card_token, site.point.token, same_id),
        return_exceptions=True,
    )
    assert [o.points_awarded for o in outcomes[:3]] == [10, 10, 10]
    assert isinstance(outcomes[3], OutOfScope)
    assert outcomes[4].points_awarded == 10
    # Another user's event id: a different request under the same id, as it would be alone.
    assert isinstance(outcomes[5], IdempotencyConflict)
    row = await IdempotencyRecord.select().where(IdempotencyRecord.event_id == same_id).first()
    assert row["actor"] == site.inspector.username


async def _group_fails(
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    error: Callable[[], Exception],
    times: int = 1,
) -> tuple[list[Any], list[int]]:
    """Twelve gradings at once while the group's write raises `error` the first `times`."""
    site = await make_site(services)
    households = await _households(services, site.world.compound_id, 12)
    real = batch_writes.append_inspections
    sizes: list[int] = []

    async def failing_once(inspections: list[Any]) -> None:
        sizes.append(len(inspections))
        if len(sizes) <= times:
            raise error()
        await real(inspections)

    monkeypatch.setattr(batch_writes, "append_inspections", failing_once)
    outcomes = await asyncio.gather(
        *(_inspect(services, site.inspector, h.card_token, site.point.token) for h in households),
        return_exceptions=True,
    )
    for household in households:
        assert await balance(services, household.account_id) in (0, GOOD_POINTS)
    return outcomes, sizes


async def test_a_transient_failure_of_the_group_fails_no_grading(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def transient() -> Exception:
        return asyncpg.exceptions.DeadlockDetectedError("deadlock detected")

    outcomes, sizes = await _group_fails(services, monkeypatch, transient)
    assert sizes == [12, 12]  # the whole group once more
    assert all(o.points_awarded == GOOD_POINTS for o in outcomes)
    await services.sealer.seal_pending()
    assert (await services.verifier.verify()).ok


async def test_an_unexpected_error_fails_only_the_grading_that_meets_it(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that one grading meets: the group goes one by one and only that one fails."""
    site = await make_site(services)
    households = await _households(services, site.world.compound_id, 6)
    unlucky = households[2].id
    real = batch_writes.append_inspections

    async def fails_for_one(inspections: list[Any]) -> None:
        if any(i.household == unlucky for i in inspections):
            raise RuntimeError("a bug")
        await real(inspections)

    monkeypatch.setattr(batch_writes, "append_inspections", fails_for_one)
    outcomes = await asyncio.gather(
        *(_inspect(services, site.inspector, h.card_token, site.point.token) for h in households),
        return_exceptions=True,
    )
    assert isinstance(outcomes[2], RuntimeError)
    for index, household in enumerate(households):
        if index != 2:
            assert outcomes[index].points_awarded == GOOD_POINTS
            assert await balance(services, household.account_id) == GOOD_POINTS
    assert await balance(services, households[2].account_id) == 0
    assert not await Inspection.exists().where(Inspection.household == unlucky)


async def test_a_request_that_went_away_leaves_its_grading_written_once(
    services: Services,
) -> None:
    """A cancelled request (the client hung up) does not take its group down; the grading it
    sent is written with the group, and a resend replays it."""
    site = await make_site(services)
    households = await _households(services, site.world.compound_id, 4)
    keys = [event_id("g") for _ in households]
    tasks = [
        asyncio.create_task(_inspect(services, site.inspector, h.card_token, site.point.token, k))
        for h, k in zip(households, keys, strict=True)
    ]
    await asyncio.sleep(0)  # all four are waiting for their group now
    tasks[1].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert all(done[i].points_awarded == GOOD_POINTS for i in (0, 2, 3))
    # Written with its group, though nobody heard the answer:
    assert await idempotency.find(keys[1]) is not None
    assert await Entry.count().where(Entry.event_id == keys[1]) == 1
    again = await _inspect(
        services, site.inspector, households[1].card_token, site.point.token, keys[1]
    )
    assert again.points_awarded == GOOD_POINTS
    assert await balance(services, households[1].account_id) == GOOD_POINTS
    assert await Entry.count().where(Entry.event_id == keys[1]) == 1


async def test_a_batch_s_gradings_stay_in_order_among_other_requests(services: Services) -> None:
    """A request's gradings join a group together: a batch that grades one household's
    stream twice gets the first grade scored, whatever arrives beside it."""
    site = await make_site(services)
    others = await _households(services, site.world.compound_id, 5)
    token, point = site.world.card_token, site.point.token
    batch = [
        Grading(event_id("b"), token, point, Stream.KITCHEN, grade, [], None)
        for grade in (Grade.GOOD, Grade.POOR)
    ]
    together = await asyncio.gather(
        *(_inspect(services, site.inspector, h.card_token, point) for h in others[:2]),
        services.gradings.inspect_many(site.inspector, batch),
        *(_inspect(services, site.inspector, h.card_token, point) for h in others[2:]),
    )
    first, second = together[2]
    assert not isinstance(first, LedgerError)
    assert not isinstance(second, LedgerError)
    assert (first.scored, first.points_awarded) == (True, GOOD_POINTS)
    assert (second.scored, second.points_awarded) == (False, 0)
    stored = await idempotency.find_many([g.event_id for g in batch])
    assert len(stored) == 2


async def test_a_database_gone_away_fails_the_group_at_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each alone would wait for the database again: every request answers with the outage
    (503, send again) and nothing was written."""

    def gone() -> Exception:
        return ConnectionResetError("the database went away")

    outcomes, sizes = await _group_fails(services, monkeypatch, gone)
    assert len(sizes) == 1
    assert all(isinstance(o, ConnectionResetError) for o in outcomes)
    assert await Inspection.count() == 0


async def test_a_group_that_fails_twice_goes_one_by_one(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def transient() -> Exception:
        return asyncpg.exceptions.DeadlockDetectedError("deadlock detected")

    outcomes, sizes = await _group_fails(services, monkeypatch, transient, times=2)
    assert sizes == [12, 12] + [1] * 12
    assert all(o.points_awarded == GOOD_POINTS for o in outcomes)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("arrives_after", "stalled_after"),
    [
        pytest.param(0.2, 0.05, id="after-its-group-stalled"),
        # Only the watch can start its group: the row waits for the test, which waits for it.
        pytest.param(0.05, 0.5, id="before-its-group-stalled-the-watch"),
    ],
)
async def test_a_group_waiting_for_a_held_row_does_not_hold_up_the_next(
    services: Services, monkeypatch: pytest.MonkeyPatch, arrives_after: float, stalled_after: float
) -> None:
    """A household's account held by another transaction (a redemption at the counter, say)
    holds up its own grading, not another household's: the next group starts beside the
    stalled one, at once if it has stalled already, else when it does (the watch)."""
    monkeypatch.setattr(committer, "STALLED_SECONDS", stalled_after)
    site = await make_site(services)
    held, free = await _households(services, site.world.compound_id, 2)
    point = site.point.token
    holder = await asyncpg.connect(services.db.engine.config["dsn"])
    try:
        async with holder.transaction():
            await holder.execute("SELECT id FROM account WHERE id = $1 FOR UPDATE", held.account_id)
            waiting = asyncio.create_task(
                _inspect(services, site.inspector, held.card_token, point)
            )
            await asyncio.sleep(arrives_after)  # its group is in flight, waiting for the row
            other = await asyncio.wait_for(
                _inspect(services, site.inspector, free.card_token, point), timeout=30
            )
            assert other.points_awarded == GOOD_POINTS
            assert not waiting.done()
        assert (await asyncio.wait_for(waiting, timeout=30)).points_awarded == GOOD_POINTS
    finally:
        await holder.close()


@pytest.mark.postgres
async def test_gradings_arriving_while_a_group_is_written_wait_for_it_and_go_together(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second group starts beside the first only once the first has stalled: gradings that
    arrive one by one while it is written (not stalled) go together in the next group, not
    each in a group of its own beside it."""
    monkeypatch.setattr(committer, "STALLED_SECONDS", 2.0)  # far beyond this test's few ms
    site = await make_site(services)
    held, second, third = await _households(services, site.world.compound_id, 3)
    point = site.point.token
    groups_before, _ = _histogram("greenledger_grading_group_size")
    holder = await asyncpg.connect(services.db.engine.config["dsn"])
    try:
        async with holder.transaction():
            await holder.execute("SELECT id FROM account WHERE id = $1 FOR UPDATE", held.account_id)
            first = asyncio.create_task(_inspect(services, site.inspector, held.card_token, point))
            later = []
            for household in (second, third):
                await asyncio.sleep(0.001)  # after the first's group took it
                later.append(
                    asyncio.create_task(
                        _inspect(services, site.inspector, household.card_token, point)
                    )
                )
        replies = await asyncio.wait_for(asyncio.gather(first, *later), timeout=30)
    finally:
        await holder.close()
    assert [reply.points_awarded for reply in replies] == [GOOD_POINTS] * 3
    groups, _ = _histogram("greenledger_grading_group_size")
    assert groups - groups_before == 2  # the held one's, then the two that arrived meanwhile


@pytest.mark.postgres
async def test_a_grading_that_waited_for_the_lock_sees_the_grade_committed_meanwhile(
    services: Services,
) -> None:
    """The day's grades are read after the household's account is locked, in a statement of
    their own (the second of `grading_lock` on PostgreSQL): one read before the lock, or with
    it (a statement reads with the snapshot it started with), would miss the grade of the
    transaction it waited for, and the stream would score twice that day."""
    site = await make_site(services)
    world = site.world
    holder = await asyncpg.connect(services.db.engine.config["dsn"])
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT id FROM account WHERE id = $1 FOR UPDATE", world.account_id
            )
            waiting = asyncio.create_task(
                _inspect(services, site.inspector, world.card_token, site.point.token)
            )
            await asyncio.sleep(0.3)  # its group has read what it reads first, and waits
            assert not waiting.done()
            await holder.execute(
                "INSERT INTO inspection (community_id, compound, household, point, inspector, "
                "stream, grade, final_grade, reasons, photo_ref, local_day, scored, "
                "points_awarded, entry_id, rule_version, created_at) VALUES ($1, $2, $3, $4, $5, "
                "'kitchen', 'good', 'good', '', '', $6, true, 0, NULL, 0, now())",
                world.community_id,
                world.compound_id,
                world.household_id,
                site.point.id,
                site.inspector.user_id,
                local_day(services.clock.now()),
            )
        graded = await asyncio.wait_for(waiting, timeout=30)
    finally:
        await holder.close()
    assert (graded.scored, graded.points_awarded) == (False, 0)


@pytest.mark.postgres
async def test_a_group_and_a_weigh_in_of_one_household_take_its_rows_in_one_order(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A weigh-in locks the household's account, then its credit moves the issuance stripe's;
    a group waiting meanwhile must wait for the household before it takes the stripe, or
    PostgreSQL finds a deadlock (and a second later the group is written again)."""
    caplog.set_level(logging.INFO, logger="ledger")
    site = await make_site(services)
    clerk = await make_user(services, Role.CLERK, compound_ids=frozenset({site.world.compound_id}))
    weigh_id = event_id("w")
    same_stripe = (event_id("g") for _ in range(10_000))
    grade_id = next(k for k in same_stripe if issuance_stripe(k) == issuance_stripe(weigh_id))
    household_locked = asyncio.Event()
    real = earning_store.weighin_points_on

    async def slow(household_id: int, day: Any) -> int:
        household_locked.set()
        await asyncio.sleep(0.3)  # the group asks for the household's and the stripe's rows now
        return await real(household_id, day)

    monkeypatch.setattr(earning_store, "weighin_points_on", slow)

    async def grading() -> Any:
        await household_locked.wait()
        return await _inspect(
            services, site.inspector, site.world.card_token, site.point.token, grade_id
        )

    weighed, graded = await asyncio.gather(
        services.scans.weighin(clerk, weigh_id, site.world.card_token, Material.PAPER, 700),
        grading(),
    )
    assert weighed.points_awarded > 0
    assert graded.points_awarded == GOOD_POINTS
    retried = [r.getMessage() for r in caplog.records if "after" in r.getMessage()]
    assert retried == []


async def test_a_typed_code_of_another_compound_is_refused_before_the_point_is_read(
    services: Services,
) -> None:
    """As a scan alone always refused it: the household's typed code first (stored), so a
    bad point token beside it changes nothing."""
    site = await make_site(services)
    elsewhere = await make_world(services, community="大关社区", compound="东一")
    (row,) = await ShortCode.select(ShortCode.code).where(
        (ShortCode.kind == "household") & (ShortCode.subject_id == elsewhere.household_id)
    )
    key = event_id("t")
    with pytest.raises(OutOfScope, match="not in a compound you serve"):
        await _inspect(services, site.inspector, row["code"], "1p.zz.1.a.forged", key)
    stored = await idempotency.find(key)
    assert stored is not None
    assert stored.outcome == "out_of_scope"


async def test_a_grading_by_typed_codes_alone_earns_under_its_community_s_rules(
    services: Services,
) -> None:
    """Only scanned codes name rows before the group's first statement, so the rows and the
    rules of a grading typed in full are read after it: still the community's rules in force,
    not the built-in defaults."""
    site = await make_site(services)
    community = site.world.community_id
    rules = {"grade_points": {"good": 7, "fair": 3, "poor": 0}}
    set_rules = await services.rules.set(SYSTEM, event_id(), community, services.clock.now(), rules)
    household = await make_household(services, site.world.compound_id, building="8")
    graded = await _inspect(services, site.inspector, household.short_code, site.point.short_code)
    assert (graded.scored, graded.points_awarded) == (True, 7)
    (row,) = await Inspection.select(Inspection.rule_version).where(
        Inspection.id == graded.inspection_id
    )
    assert row["rule_version"] == set_rules.version
