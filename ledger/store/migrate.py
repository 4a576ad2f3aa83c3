"""Schema migrations, for the CLI and the tests."""

from __future__ import annotations

import functools

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration

from ledger.store.connections import is_unavailable

APP = "ledger"


async def migrate() -> tuple[bool, str]:
    """Run every pending migration; Piccolo reports failure instead of raising (its
    run_forwards returns success=False).
    A database made by migrations that are no longer in migrations/ (those squashed into the
    first release's baseline) is refused with a way out, instead of failing half-way."""
    retired = await retired_migrations()
    if retired:
        return False, (
            f"this database was made by {len(retired)} migrations that are no longer shipped "
            f"(the first release squashed them into one baseline, {retired[0]} …); make it "
            "again: delete the SQLite file (or drop the PostgreSQL database) and migrate"
        )
    result = await run_forwards("all")
    return bool(result.success), str(result.message)


@functools.cache
def _expected_migrations() -> frozenset[tuple[str, str]]:
    """(app, migration id) of every migration file of every app `migrate` runs; read once."""
    manager = BaseMigrationManager()
    expected: set[tuple[str, str]] = set()
    for app_module in manager.get_app_modules():
        config = app_module.APP_CONFIG
        modules = manager.get_migration_modules(config.resolved_migrations_folder_path)
        expected |= {(config.app_name, migration_id) for migration_id in modules}
    return frozenset(expected)


async def pending_migrations() -> list[str]:
    """`app:migration_id` of each migration not applied yet; [] when the schema is current.
    Reads only (unlike Piccolo's `check`, which creates its table when it is missing)."""
    try:
        rows = await Migration.select(Migration.app_name, Migration.name)
    except Exception as error:
        if is_unavailable(error):
            raise
        rows = []  # no migration table: nothing was ever applied
    applied = {(row["app_name"], row["name"]) for row in rows}
    return sorted(f"{app}:{name}" for app, name in _expected_migrations() - applied)


async def retired_migrations() -> list[str]:
    """Migrations this database ran that the code no longer has."""
    if not await Migration.table_exists():
        return []
    manager = BaseMigrationManager()
    app = manager.get_app_config(APP)
    shipped = set(manager.get_migration_modules(app.resolved_migrations_folder_path))
    ran = await Migration.get_migrations_which_ran(app_name=APP)
    return sorted(set(ran) - shipped)
