"""Piccolo's private transaction state, as ledger/store/piccolo_transactions.py reads and writes
it: these fail when a Piccolo release changes it (checked against CHECKED_AGAINST)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine

from ledger.services.container import Services
from ledger.store import piccolo_transactions as adapter
from tests.conftest import ENGINE


async def test_stock_sqlite_transactions_keep_the_state_the_adapter_reads(tmp_path: Path) -> None:
    engine = SQLiteEngine(path=str(tmp_path / "state.sqlite"))
    outer = engine.transaction()
    assert adapter.parent(outer) is None
    assert not adapter.finished(outer)
    async with outer:
        assert engine.current_transaction.get() is outer
        assert adapter.parent(engine.transaction()) is outer  # a nested one stands for it
        await outer.commit()
        assert adapter.finished(outer)
        assert not adapter.rolled_back(outer)
    assert engine.current_transaction.get() is None

    async with engine.transaction() as undone:
        await undone.rollback()
        assert adapter.rolled_back(undone)
        assert adapter.finished(undone)


async def test_a_sqlite_transaction_opened_through_the_adapter_runs_and_leaves(
    tmp_path: Path,
) -> None:
    engine = SQLiteEngine(path=str(tmp_path / "adapter.sqlite"))
    transaction = engine.transaction()
    adapter.open_on(transaction, await transaction.get_connection(), postgres=False)
    await transaction.begin()
    adapter.make_current(transaction)
    assert engine.current_transaction.get() is transaction
    await transaction.connection.execute("CREATE TABLE t (x INTEGER)")
    await transaction.commit()
    adapter.leave(transaction)
    assert engine.current_transaction.get() is None
    await transaction.connection.close()


@pytest.mark.skipif(ENGINE != "postgres", reason="PostgreSQL's transaction")
async def test_a_postgres_transaction_opened_through_the_adapter_runs_and_leaves(
    services: Services,
) -> None:
    engine = services.db.engine
    assert isinstance(engine, PostgresEngine)
    stock = PostgresTransaction(engine)
    assert adapter.parent(stock) is None
    assert not adapter.finished(stock)
    adapter.open_on(stock, await stock.get_connection(), postgres=True)
    try:
        await stock.begin()  # Piccolo begins the asyncpg transaction open_on made
        adapter.make_current(stock)
        assert engine.current_transaction.get() is stock
        assert adapter.parent(PostgresTransaction(engine)) is stock
        assert await stock.connection.fetchval("SELECT 1") == 1
        await stock.rollback()
        assert adapter.rolled_back(stock)
        adapter.leave(stock)
        assert engine.current_transaction.get() is None
    finally:
        assert engine.pool is not None
        await engine.pool.release(stock.connection)


def test_the_private_query_hook_keeps_its_signature() -> None:
    parameters = list(inspect.signature(PostgresEngine._run_in_pool).parameters)
    assert parameters == ["self", "query", "args"]
    assert "_run_in_pool" in inspect.getsource(PostgresEngine.run_querystring)
