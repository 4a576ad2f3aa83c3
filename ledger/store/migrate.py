"""Schema migrations, for the CLI and the tests."""

from __future__ import annotations

import functools

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration

from ledger.store.connections import is_unavailable


async def migrate() -> tuple[bool, str]:
    """Run every pending migration; Piccolo reports failure instead of raising (STACK.md P14)."""
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
