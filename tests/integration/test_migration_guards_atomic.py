"""review19: a migration whose guards fail leaves nothing behind, so running it again works.

Migrations 10_00_04 (chain_head) and 10_00_05 (reinspection) made their table in Piccolo's
transaction and ran the guards afterwards, outside it: a failure (or a crash) between the two
left the table made, unguarded, and the migration not recorded, so the next `migrate` stopped
at "table already exists". Each test runs the migrations on a database of its own, with one
guard statement made to fail, then again with it mended."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.engine.sqlite import SQLiteEngine

from ledger.store.engine import current_engine
from ledger.store.tables import EntrySeal
from tests.conftest import _pg_admin

FAILING = "SELECT no_such_function_review19()"


@pytest.fixture
async def scratch_database(tmp_path: Path, migrated: None) -> AsyncIterator[None]:
    """The process's engine pointed at an empty database for the test, then back."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        saved = engine.path
        engine.path = str(tmp_path / "scratch.sqlite")
        yield
        engine.path = saved
        return
    name = f"greenledger_scratch_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    saved = engine.config["dsn"]
    engine.config["dsn"] = saved.rsplit("/", 1)[0] + "/" + name
    try:
        yield
    finally:
        engine.config["dsn"] = saved
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _table_exists(name: str) -> bool:
    engine = current_engine()
    query = (
        f"SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
        if isinstance(engine, SQLiteEngine)
        else f"SELECT tablename AS name FROM pg_tables WHERE tablename = '{name}'"
    )
    rows = await EntrySeal.raw(query)
    return bool(rows)


@pytest.mark.parametrize(
    ("migration", "table"),
    [
        ("ledger_2026_12_06t10_00_04_000000", "chain_head"),
        ("ledger_2026_12_06t10_00_05_000000", "reinspection"),
    ],
)
async def test_a_failed_guard_leaves_no_table_and_the_migration_can_run_again(
    scratch_database: None, monkeypatch: pytest.MonkeyPatch, migration: str, table: str
) -> None:
    # Piccolo imports each migration by its bare name, from the migrations folder it put on
    # sys.path (the session's `migrated` ran them once).
    module = importlib.import_module(migration)
    monkeypatch.setattr(module, "COMMON", [*module.COMMON, FAILING])
    with pytest.raises(Exception, match="no_such_function_review19"):
        await run_forwards("all")
    assert not await _table_exists(table), "the table outlived its failed guards"
    monkeypatch.setattr(module, "COMMON", [s for s in module.COMMON if s != FAILING])
    result = await run_forwards("all")
    assert result.success, result.message
    assert await _table_exists(table)
