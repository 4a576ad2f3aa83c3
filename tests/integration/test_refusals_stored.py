"""Which refusals are stored against their event_id (docs/decisions/2026-12-06-which-refusals-
are-stored.md): a business refusal is, so a resend stays refused; a refusal of the request's
content alone is not, so junk leaves no rows and its event_id stays free. One by one and in a
batch of gradings (on PostgreSQL its own path; on SQLite the same one by one)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.domain.access import SYSTEM, Role
from ledger.domain.errors import (
    CodeForged,
    CodeMalformed,
    CodeWrongKind,
    IdempotencyConflict,
    InvalidInput,
    LedgerError,
    OutOfScope,
)
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.store import idempotency
from tests.factories import FrozenClock, event_id, make_user
from tests.integration.earning_helpers import Site, grade, hangzhou, make_site, make_volunteer

KITCHEN, GOOD = Stream.KITCHEN, Grade.GOOD


def _bad_cards(site: Site) -> dict[str, type[LedgerError]]:
    head, id_text, serial, key_id, tag = site.world.card_token.split(".")
    forged = ".".join((head, id_text, serial, key_id, ("A" if tag[0] != "A" else "B") + tag[1:]))
    return {"hello": CodeMalformed, forged: CodeForged, site.point.token: CodeWrongKind}


async def test_a_refusal_of_the_content_alone_stores_nothing_and_frees_the_event_id(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 7, 30)
    site = await make_site(services)
    for card, refusal in _bad_cards(site).items():
        key = event_id("junk")
        with pytest.raises(refusal):
            await grade(services, site, KITCHEN, GOOD, card=card, key=key)
        assert await idempotency.find(key) is None
        with pytest.raises(refusal):  # sent again: refused again, as the content decides
            await grade(services, site, KITCHEN, GOOD, card=card, key=key)
    key = event_id("junk")
    with pytest.raises(CodeMalformed):
        await grade(services, site, KITCHEN, GOOD, card="hello", key=key)
    graded = await grade(services, site, KITCHEN, GOOD, key=key)  # the id was never used
    assert graded.points_awarded == 10


async def test_a_business_refusal_is_stored_and_a_resend_stays_refused(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 7, 30)
    site = await make_site(services)
    other = await services.registry.create_compound(
        SYSTEM, event_id(), site.world.community_id, "外面"
    )
    elsewhere = await make_user(services, Role.INSPECTOR, compound_ids=frozenset({other.id}))
    key = event_id("scope")
    with pytest.raises(OutOfScope):
        await grade(services, site, KITCHEN, GOOD, inspector=elsewhere, key=key)
    stored = await idempotency.find(key)
    assert stored is not None
    assert stored.outcome == "out_of_scope"
    with pytest.raises(OutOfScope):
        await grade(services, site, KITCHEN, GOOD, inspector=elsewhere, key=key)


async def test_a_day_refused_by_the_clock_is_stored_as_a_business_refusal(
    services: Services, clock: FrozenClock
) -> None:
    """Tomorrow the same back-fill would pass; its resend must stay refused."""
    clock.moment = hangzhou(25, 7, 30)
    site = await make_site(services)
    volunteer = await make_volunteer(services, site)
    tomorrow = local_day(clock.moment) + timedelta(days=1)
    key = event_id("backfill")

    async def backfill() -> object:
        return await services.shifts.backfill(
            site.coordinator,
            key,
            volunteer_id=volunteer.id,
            compound_id=site.world.compound_id,
            day=tomorrow,
            minutes=60,
            note="纸质签到表",
        )

    with pytest.raises(InvalidInput):
        await backfill()
    stored = await idempotency.find(key)
    assert stored is not None
    assert stored.outcome == "validation_error"
    clock.moment += timedelta(days=2)
    with pytest.raises(InvalidInput):
        await backfill()


def _grading(site: Site, key: str, card: str | None = None) -> Grading:
    return Grading(
        event_id=key,
        household_token=site.world.card_token if card is None else card,
        point_token=site.point.token,
        stream=KITCHEN,
        grade=GOOD,
        reasons=[],
        photo_ref=None,
    )


async def test_a_batch_of_gradings_stores_business_refusals_only(
    services: Services, clock: FrozenClock
) -> None:
    clock.moment = hangzhou(25, 7, 30)
    site = await make_site(services)
    junk = {event_id("junk"): card for card in _bad_cards(site)}
    good, repeated, changed = event_id("good"), event_id("again"), event_id("changed")
    gradings = [
        *(_grading(site, key, card) for key, card in junk.items()),
        _grading(site, repeated, "hello"),
        _grading(site, repeated, "hello"),  # the same junk again: refused the same way
        _grading(site, changed, "hello"),
        _grading(site, changed),  # alone, the first left no record: this one is new
        _grading(site, good),
        _grading(site, good, "hello"),  # a stored success, then other content: a conflict
    ]
    outcomes = await services.gradings.inspect_many(site.inspector, gradings)
    kinds = [type(o).__name__ if isinstance(o, LedgerError) else "ok" for o in outcomes]
    assert kinds == [
        *(refusal.__name__ for refusal in _bad_cards(site).values()),
        "CodeMalformed",
        "CodeMalformed",
        "CodeMalformed",
        "ok",
        "ok",
        IdempotencyConflict.__name__,
    ]
    keys = [*junk, repeated, changed, good]
    assert [key for key in keys if await idempotency.find(key) is not None] == [changed, good]
