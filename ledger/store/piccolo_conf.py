"""Piccolo's engine, from GREENLEDGER_DATABASE_URL (an SQLite path or a postgresql:// URL), with
GREENLEDGER_REPLICA_URL and GREENLEDGER_PGBOUNCER for PostgreSQL (api/settings.py checks them)."""

import os

from piccolo.conf.apps import AppRegistry

from ledger.store.engine import DEFAULT_DATABASE_URL, engine_from_url

DB = engine_from_url(
    os.environ.get("GREENLEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
    replica_url=os.environ.get("GREENLEDGER_REPLICA_URL") or None,
    pgbouncer=os.environ.get("GREENLEDGER_PGBOUNCER", "").lower() in ("1", "true", "yes"),
)

# piccolo-admin's users and sessions (the /admin registry UI) migrate with the ledger.
APP_REGISTRY = AppRegistry(
    apps=[
        "ledger.store.piccolo_app",
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",
    ]
)
