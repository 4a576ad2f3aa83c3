from pathlib import Path

from piccolo.conf.apps import AppConfig

from ledger.store.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="ledger",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
