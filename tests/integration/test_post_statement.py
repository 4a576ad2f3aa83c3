"""`store.ledger.post` and the writes that wait (`sql.later`), on both engines.

On PostgreSQL the two UPDATEs and the entry are one statement whose text depends on which
account id is lower, and writes nobody reads back ride on the next INSERT; these tests pin that
both orders give the same rows, the same refusals and no partial change, and that a waiting
write is never lost or seen late.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.domain.accounts import AccountKind
from ledger.domain.entries import EntryKind, Transfer
from ledger.domain.errors import InsufficientPoints, InvalidInput, NotFound
from ledger.services.container import Services
from ledger.store import facts, sql
from ledger.store import ledger as store
from ledger.store.tables import BoardFact, Entry, Lot
from tests.factories import make_world

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


async def _accounts(services: Services) -> tuple[int, int, int, int]:
    """A community's issuance stripe 0 and two household accounts, in increasing id order."""
    world = await make_world(services)
    issuance = await store.community_account(world.community_id, AccountKind.ISSUANCE, 0)
    async with services.db.write():
        second = await store.open_account(world.community_id, AccountKind.HOUSEHOLD, NOW)
    assert issuance < world.account_id < second
    return world.community_id, issuance, world.account_id, second


async def _balances(*account_ids: int) -> list[int]:
    return [(await store.find_account(a)).balance_points for a in account_ids]  # type: ignore[union-attr]


def _transfer(debit: int, credit: int, points: int, memo: str = "") -> Transfer:
    return Transfer(
        debit_account_id=debit,
        credit_account_id=credit,
        amount_points=points,
        kind=EntryKind.ADJUSTMENT,
        memo=memo,
        rule_version=3,
    )


@pytest.mark.parametrize("debit_lower", [True, False], ids=["debit-first", "credit-first"])
async def test_a_transfer_writes_both_balances_and_every_entry_column(
    services: Services, debit_lower: bool
) -> None:
    community_id, issuance, _, household = await _accounts(services)
    async with services.db.write():
        await store.post(_transfer(issuance, household, 40), event_id="seed", actor="t", now=NOW)
    debit, credit = (issuance, household) if debit_lower else (household, issuance)
    if not debit_lower:
        assert credit < debit
    async with services.db.write():
        posted = await store.post(
            _transfer(debit, credit, 15, memo="备注"), event_id="e-1", actor="clerk", now=NOW
        )
    row = await Entry.select().where(Entry.id == posted.entry_id).first()
    assert row is not None
    expected_after = {issuance: -40 - 15 if debit_lower else -40 + 15}
    expected_after[household] = 40 + 15 if debit_lower else 40 - 15
    assert (posted.debit_balance_after, posted.credit_balance_after) == (
        expected_after[debit],
        expected_after[credit],
    )
    assert row["community_id"] == posted.community_id == community_id
    assert (row["debit_account_id"], row["credit_account_id"]) == (debit, credit)
    assert (row["debit_balance_after"], row["credit_balance_after"]) == (
        expected_after[debit],
        expected_after[credit],
    )
    assert (row["amount_points"], row["kind"], row["event_id"]) == (15, "adjustment", "e-1")
    assert (row["rule_version"], row["actor"], row["memo"]) == (3, "clerk", "备注")
    assert row["reverses_entry_id"] is None
    assert row["created_at"] == NOW
    assert await _balances(issuance, household) == [
        expected_after[issuance],
        expected_after[household],
    ]


@pytest.mark.parametrize("debit_lower", [True, False], ids=["debit-first", "credit-first"])
async def test_an_overdraft_is_refused_and_changes_nothing(
    services: Services, debit_lower: bool
) -> None:
    _, issuance, other, household = await _accounts(services)
    async with services.db.write():
        await store.post(_transfer(issuance, household, 5), event_id="seed", actor="t", now=NOW)
    debit, credit = (other, household) if debit_lower else (household, other)
    before = await _balances(other, household)
    entries = await Entry.count()
    with pytest.raises(InsufficientPoints) as refusal:
        async with services.db.write():
            await store.post(_transfer(debit, credit, 6), event_id="x", actor="t", now=NOW)
    assert refusal.value.extra["balance_points"] == (0 if debit_lower else 5)
    assert await _balances(other, household) == before
    assert await Entry.count() == entries


@pytest.mark.parametrize("missing_side", ["debit", "credit"])
async def test_a_missing_account_is_not_found_on_either_side(
    services: Services, missing_side: str
) -> None:
    _, issuance, _, household = await _accounts(services)
    missing = household + 1_000
    debit, credit = (missing, household) if missing_side == "debit" else (issuance, missing)
    with pytest.raises(NotFound):
        async with services.db.write():
            await store.post(_transfer(debit, credit, 1), event_id="x", actor="t", now=NOW)
    assert await _balances(issuance, household) == [0, 0]


async def test_points_never_cross_communities(services: Services) -> None:
    _, issuance, _, _ = await _accounts(services)
    elsewhere = await make_world(services, community="大关社区", compound="东一")
    with pytest.raises(InvalidInput):
        async with services.db.write():
            await store.post(
                _transfer(issuance, elsewhere.account_id, 1), event_id="x", actor="t", now=NOW
            )
    assert await _balances(issuance, elsewhere.account_id) == [0, 0]
    assert await Entry.count() == 0


async def test_a_waiting_write_is_seen_by_the_next_read_and_committed(services: Services) -> None:
    world = await make_world(services)
    async with services.db.write():
        await facts.record(
            world.community_id, "points", {"account": 1, "delta": 2}, NOW.date(), NOW
        )
        # a Piccolo read in the same transaction sees it (it is sent first)
        assert await BoardFact.count().where(BoardFact.kind == "points") == 1
        await facts.record(
            world.community_id, "points", {"account": 1, "delta": 3}, NOW.date(), NOW
        )
    # ... and one left waiting at the end is sent before COMMIT
    assert await BoardFact.count().where(BoardFact.kind == "points") == 2


async def test_waiting_writes_ride_on_the_next_insert_and_vanish_with_a_rollback(
    services: Services,
) -> None:
    _, issuance, _, household = await _accounts(services)

    async def work() -> None:
        async with services.db.write():
            posted = await store.post(
                _transfer(issuance, household, 7), event_id="r", actor="t", now=NOW
            )
            # the lot and the entry_unsealed row are waiting here; an INSERT carries them
            await sql.fetch(
                "INSERT INTO entry_unsealed (entry_id) VALUES ($1)", posted.entry_id + 10_000
            )
            assert await Lot.count().where(Lot.entry_id == posted.entry_id) == 1
            raise RuntimeError("the work fails after the writes")

    with pytest.raises(RuntimeError):
        await work()
    assert await Lot.count() == 0
    assert await Entry.count() == 0
    assert await _balances(issuance, household) == [0, 0]


def test_carrying_numbers_each_write_after_the_main_statement() -> None:
    text = sql.carrying(
        ("INSERT INTO a (x, y) VALUES ($1, $2)", "INSERT INTO b (z) VALUES ($1)"),
        "INSERT INTO c (p, q, r) VALUES ($1, $2, $3) RETURNING p",
    )
    assert text == (
        "WITH w0 AS (INSERT INTO a (x, y) VALUES ($4, $5)), "
        "w1 AS (INSERT INTO b (z) VALUES ($6)) "
        "INSERT INTO c (p, q, r) VALUES ($1, $2, $3) RETURNING p"
    )
    assert sql.carrying(("UPDATE t SET v = $2 WHERE id = $1",), "SELECT 1") == (
        "WITH w0 AS (UPDATE t SET v = $2 WHERE id = $1) SELECT 1"
    )
