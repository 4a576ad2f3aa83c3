"""Row locks that make read-then-write decisions happen one after the other.

SQLite already has a single writer (BEGIN IMMEDIATE), so there nothing is taken; PostgreSQL
takes the row lock until commit.
"""

from __future__ import annotations

from typing import Any

from ledger.store import sql
from ledger.store.engine import is_sqlite

LOCK_ACCOUNT = "SELECT id FROM account WHERE id = $1 FOR UPDATE"


async def lock_account(account_id: int) -> None:
    """Serialise read-then-write decisions about one account (caps) until commit."""
    if not is_sqlite():
        await sql.fetch(LOCK_ACCOUNT, account_id)


async def lock_accounts(*account_ids: int) -> None:
    """Lock several accounts in id order (the order `post` updates them), so no deadlock."""
    for account_id in sorted(set(account_ids)):
        await lock_account(account_id)


async def lock_row(table: type[Any], row_id: int) -> None:
    """Hold a record (a shift, an appeal, a redemption) until commit, so that two requests
    deciding it at once are decided one after the other, the second seeing the first."""
    if not is_sqlite():
        await sql.fetch(_lock_row_sql(table._meta.tablename), row_id)


def _lock_row_sql(tablename: str) -> str:
    return f"SELECT id FROM {tablename} WHERE id = $1 FOR UPDATE"  # noqa: S608 (a table's name)
