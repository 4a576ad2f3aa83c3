"""Piccolo's transaction state that ledger/store/engine.py relies on, read and written here only.

engine.py's transactions replace Piccolo's `__aenter__`/`__aexit__` (stock Piccolo loses a
connection when BEGIN, COMMIT or ROLLBACK fails) and so must keep the state those methods
keep, none of it documented: `_parent` (the transaction this nested one stands for),
`_committed` and `_rolled_back` (set by commit() and rollback()), `connection`, on PostgreSQL
`transaction` (the asyncpg transaction that begin(), commit() and rollback() use), and
`context` (the token of `engine.current_transaction`). HardenedPostgresEngine also replaces
`PostgresEngine._run_in_pool(query, args)`, which Piccolo calls for a query outside a
transaction.

Checked against Piccolo 1.38.0 (`pip show piccolo`). tests/integration/test_piccolo_
transactions.py fails if any of it changes: re-read Piccolo's transaction classes then.
"""

from __future__ import annotations

from typing import Any

CHECKED_AGAINST = "1.38.0"


def parent(transaction: Any) -> Any | None:
    """The outer transaction a nested one stands for (None for an outermost one)."""
    return transaction._parent


def finished(transaction: Any) -> bool:
    """Whether the caller already committed or rolled the transaction back by hand."""
    return bool(transaction._committed or transaction._rolled_back)


def rolled_back(transaction: Any) -> bool:
    return bool(transaction._rolled_back)


def mark_finished(transaction: Any, committed: bool) -> None:
    """What Piccolo's commit() and rollback() record, for a transaction that sends its own."""
    if committed:
        transaction._committed = True
    else:
        transaction._rolled_back = True


def open_on(transaction: Any, connection: Any, postgres: bool) -> None:
    """The transaction runs on `connection` (before BEGIN); asyncpg's own transaction too."""
    transaction.connection = connection
    if postgres:
        transaction.transaction = connection.transaction()


def make_current(transaction: Any) -> None:
    """After BEGIN: the task's queries run inside the transaction."""
    transaction.context = transaction.engine.current_transaction.set(transaction)


def leave(transaction: Any) -> None:
    """The task is no longer inside the transaction."""
    transaction.engine.current_transaction.reset(transaction.context)
