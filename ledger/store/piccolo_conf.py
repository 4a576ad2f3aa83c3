"""Piccolo's engine, from GREENLEDGER_DATABASE_URL only (an SQLite path or a postgresql:// URL)."""

import os

from piccolo.conf.apps import AppRegistry

from ledger.store.engine import DEFAULT_DATABASE_URL, engine_from_url

DB = engine_from_url(os.environ.get("GREENLEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL)

APP_REGISTRY = AppRegistry(apps=["ledger.store.piccolo_app"])
