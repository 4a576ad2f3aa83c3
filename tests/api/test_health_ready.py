"""/health/live and /health/ready (issue 17 item 3): the probes of an orchestrator."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from piccolo.engine.sqlite import SQLiteEngine

from api.app import create_app
from api.settings import Settings
from ledger.services.container import Services
from ledger.store import facts, migrate
from ledger.store.engine import current_engine
from tests.api.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, make_world, new_event_id, sign_in
from tests.conftest import REDIS_URL
from tests.integration.redis_process import free_port

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)


async def _ready(settings: Settings) -> tuple[int, dict[str, Any]]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health/ready")
        return response.status_code, response.json()


async def test_live_answers_while_the_process_does(fresh_db: None, settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}
    assert response.headers["x-request-id"]


async def test_ready_without_redis_says_it_is_not_needed(
    fresh_db: None, settings: Settings
) -> None:
    status, body = await _ready(settings)
    assert status == 200, body
    assert body["ready"] is True
    assert body["reasons"] == []
    assert body["database"] == "ok"
    assert body["migrations"] == "current"
    assert body["pending_migrations"] == []
    assert body["redis"] == "absent"
    assert body["sealer"] == {"pending": 0, "seconds": 0.0}
    assert body["projector"] is None


@pytest.mark.redis
async def test_ready_with_redis_reports_both_lags(
    admin_user: None, settings: Settings, redis: object
) -> None:
    # A board fact waiting for the sealer to number it and the projector to apply it.
    waiting = Services.build(settings.keyring(), settings.base_url)
    async with waiting.db.write():
        payload = {"compound": 1, "household": 1}
        await facts.record(1, "participation", payload, date(2026, 12, 6), datetime.now(UTC))
    configured = dataclasses.replace(settings, redis_url=REDIS_URL)
    async with AsyncTestClient(app=create_app(configured)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        world = await make_world(client, admin)
        body = {"account_id": world.account_id, "amount_points": 7, "reason": "ready"}
        response = await client.post(
            "/api/v1/adjustments", json={"event_id": new_event_id(), **body}, headers=admin
        )
        assert response.status_code == 201, response.text
        ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    reply = ready.json()
    assert reply["redis"] == "ok"
    # The sealer does not run in these tests: the entry waits, and so does the fact.
    assert reply["sealer"]["pending"] == 1
    assert reply["sealer"]["seconds"] >= 0
    assert reply["projector"]["pending"] == 1
    assert reply["projector"]["seconds"] >= 0


async def test_a_configured_redis_that_does_not_answer_makes_it_unready(
    fresh_db: None, settings: Settings
) -> None:
    dead = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    status, body = await _ready(dead)
    assert status == 503, body
    assert body["ready"] is False
    assert body["reasons"] == ["redis_down"]
    assert body["redis"] == "down"
    assert body["database"] == "ok"
    assert body["projector"] is None


async def test_a_migration_not_applied_makes_it_unready(
    fresh_db: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new release's migration file, before `greenledger migrate` ran."""
    shipped = migrate._expected_migrations()
    newer = ("ledger", "ledger_2099_01_01t00_00_00_000000")
    monkeypatch.setattr(migrate, "_expected_migrations", lambda: shipped | {newer})
    status, body = await _ready(settings)
    assert status == 503, body
    assert body["reasons"] == ["migrations_pending"]
    assert body["migrations"] == "pending"
    assert body["pending_migrations"] == ["ledger:ledger_2099_01_01t00_00_00_000000"]


async def test_a_database_that_cannot_be_opened_makes_it_unready(
    fresh_db: None, settings: Settings, tmp_path: Any
) -> None:
    engine = current_engine()
    if not isinstance(engine, SQLiteEngine):
        pytest.skip("SQLite: a file that cannot be opened; PostgreSQL outages: tests/chaos")
    kept = engine.path
    engine.path = str(tmp_path)  # a directory: SQLite cannot open it as a database
    try:
        status, body = await _ready(settings)
    finally:
        engine.path = kept
    assert status == 503, body
    assert body["reasons"] == ["database_down"]
    assert body["database"] == "down"
    assert body["migrations"] == "unknown"
    assert body["sealer"] is None


async def test_the_old_health_keeps_its_shape(fresh_db: None, settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "absent"}
