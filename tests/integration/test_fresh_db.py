"""`fresh_db` on PostgreSQL (tests/conftest.py, EMPTY_TABLES): truncating only the tables that
have rows leaves the database as truncating all of them would, ids starting at 1 again."""

from __future__ import annotations

import pytest

from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from ledger.store.engine import current_engine
from ledger.store.tables import TABLES
from tests.conftest import EMPTY_TABLES
from tests.factories import event_id, make_world

pytestmark = pytest.mark.postgres


async def _rows() -> dict[str, int]:
    engine = current_engine()
    counts = {}
    for table in TABLES:
        name = table._meta.tablename
        counts[name] = (await engine.run_ddl(f'SELECT count(*) AS n FROM "{name}"'))[0]["n"]
    return counts


async def test_emptying_leaves_no_rows_and_restarts_the_ids(services: Services) -> None:
    first = await make_world(services)
    await services.accounts.adjust(SYSTEM, event_id(), first.account_id, 5, "a start")
    assert sum((await _rows()).values()) > 0

    await current_engine().run_ddl(EMPTY_TABLES)

    assert set((await _rows()).values()) == {0}
    again = await make_world(services)
    assert (again.community_id, again.compound_id, again.household_id) == (
        first.community_id,
        first.compound_id,
        first.household_id,
    )


async def test_an_id_handed_out_but_never_stored_is_given_again(services: Services) -> None:
    """As after an insert that was rolled back: the sequence moved, the table is empty."""
    engine = current_engine()
    await engine.run_ddl("SELECT nextval(pg_get_serial_sequence('community', 'id'))")
    assert sum((await _rows()).values()) == 0

    await engine.run_ddl(EMPTY_TABLES)

    assert (await make_world(services)).community_id == 1
