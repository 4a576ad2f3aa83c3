"""GET /metrics (issue 17 item 1): Prometheus's text format behind GREENLEDGER_METRICS_TOKEN,
the counters moving with credits and refusals, and the lags read at scrape time."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.settings import Settings
from ledger.metrics import write_verify_file
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    assert_error,
    bearer,
    make_world,
    new_event_id,
    sign_in,
)
from tests.conftest import REDIS_URL
from tests.integration.redis_process import free_port
from tests.integration.test_alert_rules import ALERTS

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)

TOKEN = "metrics-token-" + "x" * 32
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: AsyncTestClient[Any]) -> Samples:
    response = await client.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


@pytest.fixture
def with_token(settings: Settings) -> Settings:
    return dataclasses.replace(settings, metrics_token=TOKEN)


async def test_without_a_token_configured_there_are_no_metrics(
    admin_user: None, settings: Settings
) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        for headers in ({}, bearer(TOKEN), bearer("")):
            assert_error(await client.get("/metrics", headers=headers), 404, "not_found")


async def test_a_missing_or_wrong_token_is_refused(admin_user: None, with_token: Settings) -> None:
    async with AsyncTestClient(app=create_app(with_token)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        for headers in ({}, bearer(TOKEN + "y"), bearer(TOKEN[:-1]), admin):
            response = await client.get("/metrics", headers=headers)
            assert_error(response, 401, "unauthorized")
            assert "greenledger_" not in response.text


async def test_credits_and_refusals_move_the_counters(
    admin_user: None, with_token: Settings
) -> None:
    async with AsyncTestClient(app=create_app(with_token)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        world = await make_world(client, admin)
        before = await scrape(client)
        credits = 3
        for _ in range(credits):
            body = {"account_id": world.account_id, "amount_points": 5, "reason": "metrics"}
            response = await client.post(
                "/api/v1/adjustments", json={"event_id": new_event_id(), **body}, headers=admin
            )
            assert response.status_code == 201, response.text
        overdraw = {"account_id": world.account_id, "amount_points": -1000, "reason": "too much"}
        refused = await client.post(
            "/api/v1/adjustments", json={"event_id": new_event_id(), **overdraw}, headers=admin
        )
        assert_error(refused, 409, "insufficient_points")
        wrong = await client.post(
            "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": "wrong-password"}
        )
        assert_error(wrong, 401, "invalid_credentials")
        after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("greenledger_writes_total", operation="adjustment", outcome="ok") == credits
    assert (
        moved("greenledger_writes_total", operation="adjustment", outcome="insufficient_points")
        == 1
    )
    assert moved("greenledger_refusals_total", code="insufficient_points") == 1
    assert moved("greenledger_refusals_total", code="invalid_credentials") == 1
    route = {"method": "POST", "route": "/api/v1/adjustments"}
    assert moved("greenledger_http_requests_total", status="201", **route) == credits
    assert moved("greenledger_http_requests_total", status="409", **route) == 1
    assert moved("greenledger_http_request_duration_seconds_count", **route) == credits + 1
    # The sealer does not run in these tests: every entry written waits for it.
    assert value(after, "greenledger_sealer_pending_entries") == credits
    assert value(after, "greenledger_sealer_lag_seconds") >= 0
    assert value(after, "greenledger_database_up") == 1


async def test_an_unknown_path_is_one_route_label_not_its_own(
    admin_user: None, with_token: Settings
) -> None:
    async with AsyncTestClient(app=create_app(with_token)) as client:
        for n in range(3):
            assert (await client.get(f"/api/v1/no-such-thing-{n}")).status_code == 404
        found = await scrape(client)
    routes = {dict(labels).get("route") for name, labels in found if "http_requests" in name}
    assert "unmatched" in routes
    assert not any(route and "no-such-thing" in route for route in routes)


async def test_a_made_up_method_is_one_method_label_not_its_own(
    admin_user: None, with_token: Settings
) -> None:
    async with AsyncTestClient(app=create_app(with_token)) as client:
        for n in range(3):
            await client.request(f"BREW{n}", "/api/v1/communities")
        found = await scrape(client)
    methods = {dict(labels).get("method") for name, labels in found if "http_request" in name}
    assert "OTHER" in methods
    assert not any(method and method.startswith("BREW") for method in methods)


@pytest.mark.redis
async def test_the_projector_lag_is_reported_when_redis_is_configured(
    admin_user: None, with_token: Settings, redis: object
) -> None:
    configured = dataclasses.replace(with_token, redis_url=REDIS_URL)
    async with AsyncTestClient(app=create_app(configured)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        await make_world(client, admin)
        found = await scrape(client)
    assert value(found, "greenledger_redis_up") == 1
    assert ("greenledger_projector_pending_facts", frozenset()) in found
    assert value(found, "greenledger_projector_lag_seconds") >= 0


async def test_limits_lockouts_and_redis_failures_are_counted(
    admin_user: None, with_token: Settings
) -> None:
    """One app at a time (on PostgreSQL the apps share one engine); the counters belong to
    the process, so a later app's scrape sees what an earlier one counted."""
    async with AsyncTestClient(app=create_app(with_token)) as client:
        before = await scrape(client)
    limited = dataclasses.replace(with_token, rate_limit_per_minute=3)
    async with AsyncTestClient(app=create_app(limited)) as client:
        statuses = [(await client.get("/api/v1/me")).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    async with AsyncTestClient(app=create_app(with_token)) as client:
        guesses = [
            await client.post(
                "/api/v1/auth/token", json={"username": "nobody-17", "password": "guess"}
            )
            for _ in range(8)
        ]
    locked = [r for r in guesses if r.status_code == 429]
    assert locked, [r.status_code for r in guesses]
    dead = dataclasses.replace(
        limited, redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_per_minute=100
    )
    async with AsyncTestClient(app=create_app(dead)) as client:
        assert (await client.get("/api/v1/me")).status_code == 401  # limits off, not a 500
        found_dead = await scrape(client)
    async with AsyncTestClient(app=create_app(with_token)) as client:
        after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("greenledger_rate_limited_total", stage="address") == 2
    assert moved("greenledger_refusals_total", code="rate_limited") == 2
    assert moved("greenledger_sign_in_lockouts_total") == len(locked)
    assert moved("greenledger_refusals_total", code="sign_in_locked") == len(locked)
    assert moved("greenledger_redis_errors_total", where="limiter") >= 1
    assert value(found_dead, "greenledger_redis_up") == 0


@pytest.mark.redis
async def test_every_metric_the_alerts_name_is_served(
    admin_user: None, with_token: Settings, redis: object
) -> None:
    configured = dataclasses.replace(with_token, redis_url=REDIS_URL)
    async with AsyncTestClient(app=create_app(configured)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        assert (await client.get("/api/v1/ledger/verify", headers=admin)).status_code == 200
        response = await client.get("/metrics", headers=bearer(TOKEN))
    served = {family.name for family in text_string_to_metric_families(response.text)}
    named = set(re.findall(r"\b(greenledger_[a-z_]+)", ALERTS.read_text()))
    assert named
    for name in named:
        assert name in served or name.removesuffix("_total") in served, name
    found = samples(response.text)
    assert value(found, "greenledger_verify_ok") == 1
    assert value(found, "greenledger_verify_last_run_timestamp_seconds") > 0


def test_verify_writes_its_outcome_for_the_textfile_collector(tmp_path: Path) -> None:
    path = tmp_path / "greenledger.prom"
    write_verify_file(str(path), ok=False)
    found = samples(path.read_text())
    assert value(found, "greenledger_verify_ok") == 0
    assert value(found, "greenledger_verify_last_run_timestamp_seconds") > 0
