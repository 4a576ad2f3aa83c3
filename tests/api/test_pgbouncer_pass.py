"""The PostgreSQL passes reach the database the way they say they do.

The Makefile runs tests/api on PostgreSQL directly, then the tests marked `pgbouncer` again with
GREENLEDGER_TEST_PGBOUNCER=1, through the PgBouncer in transaction mode that tests/conftest.py
starts. The app's engine is the process's one engine (ledger/store/piccolo_conf.py), so a
connection made with its settings goes where the app's pool goes.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from ledger.store.engine import current_engine
from tests.api.conftest import Headers
from tests.conftest import PGBOUNCER

pytestmark = [pytest.mark.postgres, pytest.mark.pgbouncer]


async def test_the_engine_goes_through_pgbouncer_exactly_in_the_pgbouncer_pass(
    api: tuple[AsyncTestClient[Any], Headers],
) -> None:
    client, _ = api
    assert client.app.state.services.db.engine is current_engine()
    config: dict[str, Any] = dict(current_engine().config)
    assert (config.get("statement_cache_size") == 0) is PGBOUNCER
    connection = await asyncpg.connect(**config)
    try:
        # PgBouncer answers the start-up itself: the process id it gives is not the one of the
        # server connection that runs the statement.
        backend = await connection.fetchval("SELECT pg_backend_pid()")
        assert (connection.get_server_pid() != backend) is PGBOUNCER
    finally:
        await connection.close()
