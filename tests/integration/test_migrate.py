"""`greenledger migrate` on a database made before the first release's squash (issue 17, item 7)."""

from __future__ import annotations

from piccolo.apps.migrations.tables import Migration

from ledger.services.container import Services
from ledger.store.migrate import migrate, retired_migrations

RETIRED = "2026-11-25T10:10:59:754750"  # the first migration before the squash


async def test_a_current_database_migrates_as_a_no_op(services: Services) -> None:
    assert await retired_migrations() == []
    assert (await migrate())[0]


async def test_a_database_made_by_retired_migrations_is_refused_with_a_way_out(
    services: Services,
) -> None:
    await Migration.insert(Migration(name=RETIRED, app_name="ledger"))
    try:
        assert await retired_migrations() == [RETIRED]
        ok, message = await migrate()
        assert not ok
        assert "no longer shipped" in message
        assert "delete the SQLite file" in message
    finally:
        await Migration.delete().where(Migration.name == RETIRED)
