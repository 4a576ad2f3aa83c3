"""GET /health: the database, and Redis as "ok", "down" or "absent" (none configured)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from tests.conftest import REDIS_URL
from tests.factories import event_id
from tests.integration.redis_process import free_port


async def _health(settings: Settings) -> tuple[dict[str, Any], float]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        started = time.perf_counter()
        response = await client.get("/health")
        took = time.perf_counter() - started
        assert response.status_code == 200, response.text
        return response.json(), took


async def test_health_says_redis_is_absent_without_a_redis_url(
    fresh_db: None, settings: Settings
) -> None:
    body, _ = await _health(settings)
    assert body == {"database": "ok", "redis": "absent"}


@pytest.mark.redis
async def test_health_says_redis_is_ok_when_it_answers(fresh_db: None, settings: Settings) -> None:
    body, _ = await _health(dataclasses.replace(settings, redis_url=REDIS_URL))
    assert body == {"database": "ok", "redis": "ok"}


async def test_health_says_redis_is_down_and_boards_answer_from_sql_at_once(
    fresh_db: None, settings: Settings
) -> None:
    dead = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    body, took = await _health(dead)
    assert body == {"database": "ok", "redis": "down"}
    assert took < 2
    services = Services.build(settings.keyring(), settings.base_url)
    community = await services.registry.create_community(SYSTEM, event_id(), "社区")
    async with AsyncTestClient(app=create_app(dead)) as client:
        started = time.perf_counter()
        response = await client.get(
            "/api/v1/leaderboards",
            params={"board": "compounds_accuracy", "scope_id": community.id},
        )
        assert response.status_code == 200, response.text
        assert response.json()["source"] == "sql"
        assert time.perf_counter() - started < 2
