"""History cannot be edited through SQL, and an edit made behind the guards is caught by verify.

Runs on both engines. The guards are the triggers and CHECKs of the guards migration,
migrations/ledger_2026_12_06t10_00_01_000000.py; the tamper tests lift one guard for a moment,
the way someone with DBA rights could, and expect `verify` to name what was changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from ledger.services.verify import Check, VerifyReport
from ledger.store.engine import is_sqlite
from ledger.store.tables import Account, Entry, EntrySeal
from tests.factories import credit, make_world

# What each engine raises when a guard refuses a statement: the append-only triggers raise
# restrict_violation on PostgreSQL and RAISE(ABORT) on SQLite; the balance guard is a CHECK on
# PostgreSQL and a trigger on SQLite. The `match` on the message keeps any other error out.
APPEND_ONLY_REFUSAL = (asyncpg.exceptions.RestrictViolationError, sqlite3.IntegrityError)
NEGATIVE_REFUSAL = (asyncpg.exceptions.CheckViolationError, sqlite3.IntegrityError)

# The SQLite guards as the migration creates them, to put back after a tamper.
SQLITE_GUARDS = {
    "entry_no_update": (
        "CREATE TRIGGER entry_no_update BEFORE UPDATE ON entry "
        "BEGIN SELECT RAISE(ABORT, 'entry is append-only: UPDATE refused'); END"
    ),
    "entry_seal_no_delete": (
        "CREATE TRIGGER entry_seal_no_delete BEFORE DELETE ON entry_seal "
        "BEGIN SELECT RAISE(ABORT, 'entry_seal is append-only: DELETE refused'); END"
    ),
}
# The PostgreSQL trigger that stands for each SQLite one.
POSTGRES_GUARDS = {
    "entry_no_update": ("entry", "entry_append_only"),
    "entry_seal_no_delete": ("entry_seal", "entry_seal_append_only"),
}


async def _entry_row(entry_id: int) -> dict[str, Any]:
    row = await Entry.select().where(Entry.id == entry_id).first()
    assert row is not None
    return dict(row)


async def _seal_rows() -> list[dict[str, Any]]:
    return list(await EntrySeal.select().order_by(EntrySeal.seal_no))


@asynccontextmanager
async def _guard_lifted(services: Services, guard: str) -> AsyncIterator[None]:
    """One write transaction with one append-only trigger out of the way, restored at the end."""
    async with services.db.write():
        if is_sqlite():
            await Entry.raw(f"DROP TRIGGER {guard}")
        else:
            table, trigger = POSTGRES_GUARDS[guard]
            await Entry.raw(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        yield
        if is_sqlite():
            await Entry.raw(SQLITE_GUARDS[guard])
        else:
            await Entry.raw(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


async def _sealed_credits(services: Services, amounts: tuple[int, ...]) -> list[int]:
    world = await make_world(services)
    entry_ids = [(await credit(services, world.account_id, n))["entry_id"] for n in amounts]
    assert await services.sealer.seal_all() == len(amounts)
    assert (await services.verifier.verify()).ok
    return entry_ids


def _check(report: VerifyReport, name: str) -> Check:
    return next(check for check in report.checks if check.name == name)


async def test_sql_update_of_an_entry_is_refused(services: Services) -> None:
    world = await make_world(services)
    entry_id = (await credit(services, world.account_id, 30))["entry_id"]
    before = await _entry_row(entry_id)
    with pytest.raises(APPEND_ONLY_REFUSAL, match="append-only"):
        async with services.db.write():
            await Entry.raw("UPDATE entry SET amount_points = 1 WHERE id = {}", entry_id)
    assert await _entry_row(entry_id) == before


async def test_sql_delete_of_an_entry_is_refused(services: Services) -> None:
    world = await make_world(services)
    entry_id = (await credit(services, world.account_id, 30))["entry_id"]
    before = await _entry_row(entry_id)
    with pytest.raises(APPEND_ONLY_REFUSAL, match="append-only"):
        async with services.db.write():
            await Entry.raw("DELETE FROM entry WHERE id = {}", entry_id)
    assert await _entry_row(entry_id) == before
    assert (await services.verifier.verify()).ok


async def test_sql_update_and_delete_of_a_seal_are_refused(services: Services) -> None:
    await _sealed_credits(services, (5, 6))
    before = await _seal_rows()
    with pytest.raises(APPEND_ONLY_REFUSAL, match="append-only"):
        async with services.db.write():
            await EntrySeal.raw("UPDATE entry_seal SET hash = {} WHERE seal_no = 1", "0" * 64)
    with pytest.raises(APPEND_ONLY_REFUSAL, match="append-only"):
        async with services.db.write():
            await EntrySeal.raw("DELETE FROM entry_seal WHERE seal_no = 1")
    assert await _seal_rows() == before


async def test_sql_update_making_a_household_negative_is_refused(services: Services) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 30)
    with pytest.raises(NEGATIVE_REFUSAL, match="account_not_negative"):
        async with services.db.write():
            await Account.raw(
                "UPDATE account SET balance_points = -1 WHERE id = {}", world.account_id
            )
    account = await services.accounts.account(SYSTEM, world.account_id)
    assert account.balance_points == 30


async def test_balance_edited_behind_the_app_is_named_by_verify(services: Services) -> None:
    """No trigger guards a positive balance; the fold of the entries catches the drift."""
    world = await make_world(services)
    await credit(services, world.account_id, 30)
    async with services.db.write():
        await Account.raw("UPDATE account SET balance_points = 31 WHERE id = {}", world.account_id)
    report = await services.verifier.verify()
    assert not report.ok
    detail = _check(report, "balances_match_entries").detail
    assert detail.startswith(f"account {world.account_id} stores 31 "), detail


async def test_sealed_amount_edited_behind_the_triggers_fails_verify(services: Services) -> None:
    entry_ids = await _sealed_credits(services, (10, 20, 30))
    tampered = entry_ids[1]
    async with _guard_lifted(services, "entry_no_update"):
        await Entry.raw("UPDATE entry SET amount_points = 21 WHERE id = {}", tampered)
    assert (await _entry_row(tampered))["amount_points"] == 21
    report = await services.verifier.verify()
    assert not report.ok
    chain = _check(report, "hash_chain")
    assert not chain.ok
    assert chain.detail.startswith(f"entry {tampered} "), chain.detail
    assert not _check(report, "balances_match_entries").ok


async def test_sealed_memo_edited_behind_the_triggers_fails_only_the_chain(
    services: Services,
) -> None:
    entry_ids = await _sealed_credits(services, (10, 20, 30))
    tampered = entry_ids[2]
    async with _guard_lifted(services, "entry_no_update"):
        await Entry.raw("UPDATE entry SET memo = {} WHERE id = {}", "nothing to see", tampered)
    report = await services.verifier.verify()
    assert not report.ok
    failed = {check.name: check.detail for check in report.checks if not check.ok}
    assert list(failed) == ["hash_chain"], failed
    assert failed["hash_chain"].startswith(f"entry {tampered} "), failed["hash_chain"]


async def test_guard_is_back_after_a_tamper(services: Services) -> None:
    entry_ids = await _sealed_credits(services, (10,))
    async with _guard_lifted(services, "entry_no_update"):
        await Entry.raw("UPDATE entry SET memo = 'x' WHERE id = {}", entry_ids[0])
    with pytest.raises(APPEND_ONLY_REFUSAL, match="append-only"):
        async with services.db.write():
            await Entry.raw("UPDATE entry SET memo = 'y' WHERE id = {}", entry_ids[0])


async def test_deleted_seal_in_the_middle_fails_verify_naming_it(services: Services) -> None:
    await _sealed_credits(services, (10, 20, 30))
    async with _guard_lifted(services, "entry_seal_no_delete"):
        await EntrySeal.raw("DELETE FROM entry_seal WHERE seal_no = 2")
    report = await services.verifier.verify()
    assert not report.ok
    chain = _check(report, "hash_chain")
    assert chain.detail == "seal 2 is missing (next is 3)", chain.detail


async def test_deleted_last_seal_fails_verify_naming_its_entry(services: Services) -> None:
    entry_ids = await _sealed_credits(services, (10, 20, 30))
    async with _guard_lifted(services, "entry_seal_no_delete"):
        await EntrySeal.raw("DELETE FROM entry_seal WHERE seal_no = 3")
    report = await services.verifier.verify()
    assert not report.ok
    chain = _check(report, "hash_chain")
    assert chain.detail == f"entry {entry_ids[2]} is neither sealed nor pending", chain
