"""Migrations and tables agree, and every migration says what it does (issue 17, item 7)."""

from __future__ import annotations

import importlib
from pathlib import Path

from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.conf.apps import Finder

MIGRATIONS = sorted(Path(__file__).parents[2].glob("migrations/ledger_*.py"))


async def test_piccolo_would_write_no_new_migration_for_the_tables() -> None:
    """`piccolo migrations new ledger --auto` writes nothing: every column of
    ledger/store/tables.py is made by a migration, and no migration makes one that is gone."""
    app = Finder().get_app_config("ledger")
    # "n": a renamed column is a drop and an add here, so Piccolo asks nothing.
    found = await AutoMigrationManager(auto_input="n").get_alter_statements(app_config=app)
    assert [statement for alter in found for statement in alter.statements] == []


def test_every_migration_has_a_description_and_says_why() -> None:
    for path in MIGRATIONS:
        module = importlib.import_module(f"migrations.{path.stem}")
        assert module.DESCRIPTION.strip(), path.name
        assert (module.__doc__ or "").strip(), path.name
