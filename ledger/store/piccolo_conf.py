"""Piccolo's engine, from GREENLEDGER_DATABASE_URL only (an SQLite path or a postgresql:// URL)."""

import os

from piccolo.conf.apps import AppRegistry

from ledger.store.engine import DEFAULT_DATABASE_URL, engine_from_url

DB = engine_from_url(os.environ.get("GREENLEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL)

# piccolo-admin's users and sessions (the /admin registry UI) migrate with the ledger.
APP_REGISTRY = AppRegistry(
    apps=[
        "ledger.store.piccolo_app",
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",
    ]
)
