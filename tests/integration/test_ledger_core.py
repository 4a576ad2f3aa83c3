"""The ledger core on a real database (both engines)."""

from __future__ import annotations

import pytest

from ledger.domain.access import SYSTEM
from ledger.domain.errors import (
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientPoints,
    NotReversible,
)
from ledger.services.container import Services
from tests.factories import credit, event_id, make_world


async def test_credit_moves_points_from_issuance_and_verifies(services: Services) -> None:
    world = await make_world(services)
    receipt = await credit(services, world.account_id, 30)
    assert receipt["balance_points"] == 30
    report = await services.verifier.verify()
    assert report.ok, report


async def test_replayed_adjustment_credits_once(services: Services) -> None:
    world = await make_world(services)
    first = await credit(services, world.account_id, 10, key="same")
    again = await credit(services, world.account_id, 10, key="same")
    assert again == first
    account = await services.accounts.account(SYSTEM, world.account_id)
    assert account.balance_points == 10


async def test_reused_event_id_with_new_content_is_rejected(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 10, key="reused")
    with pytest.raises(IdempotencyConflict):
        await credit(services, world.account_id, 11, key="reused")


async def test_refused_debit_stays_refused_after_the_balance_grows(services: Services) -> None:
    world = await make_world(services)
    with pytest.raises(InsufficientPoints):
        await services.accounts.adjust(SYSTEM, "debit-1", world.account_id, -5, "spend")
    await credit(services, world.account_id, 100)
    with pytest.raises(InsufficientPoints):
        await services.accounts.adjust(SYSTEM, "debit-1", world.account_id, -5, "spend")
    account = await services.accounts.account(SYSTEM, world.account_id)
    assert account.balance_points == 100


async def test_reversal_happens_once_and_links_the_original(services: Services) -> None:
    world = await make_world(services)
    original = await credit(services, world.account_id, 25)
    reversal = await services.accounts.reverse(
        SYSTEM, event_id(), original["entry_id"], "wrong household"
    )
    assert reversal.reverses_entry_id == original["entry_id"]
    with pytest.raises(AlreadyReversed):
        await services.accounts.reverse(SYSTEM, event_id(), original["entry_id"], "again")
    with pytest.raises(NotReversible):
        await services.accounts.reverse(SYSTEM, event_id(), reversal.entry_id, "undo the undo")
    assert (await services.verifier.verify()).ok


async def test_reversal_that_would_overdraw_is_refused(services: Services) -> None:
    world = await make_world(services)
    original = await credit(services, world.account_id, 25)
    await services.accounts.adjust(SYSTEM, event_id(), world.account_id, -20, "spent")
    with pytest.raises(InsufficientPoints):
        await services.accounts.reverse(SYSTEM, event_id(), original["entry_id"], "too late")
    account = await services.accounts.account(SYSTEM, world.account_id)
    assert account.balance_points == 5


async def test_sealer_chains_entries_and_verify_checks_the_chain(services: Services) -> None:
    world = await make_world(services)
    for amount in (1, 2, 3):
        await credit(services, world.account_id, amount)
    assert await services.sealer.seal_all() == 3
    report = await services.verifier.verify()
    assert report.ok
    assert report.sealed_through == 3
    assert report.pending_seal == 0


async def test_entries_page_newest_first_with_cursor(services: Services) -> None:
    world = await make_world(services)
    for amount in (1, 2, 3):
        await credit(services, world.account_id, amount)
    first = await services.accounts.entries(SYSTEM, world.account_id, None, 2)
    assert [item.amount_points for item in first.items] == [3, 2]
    assert [item.balance_after_points for item in first.items] == [6, 3]
    rest = await services.accounts.entries(SYSTEM, world.account_id, first.next_cursor, 2)
    assert [item.amount_points for item in rest.items] == [1]
    assert rest.next_cursor is None
