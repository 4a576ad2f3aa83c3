"""Each event of `events:batch` counts against the caller's rate limit (issue 12, item 11):
the events within the allowance are processed, each one beyond it gets its own
`429 rate_limited` result, with the seconds to wait, and is taken when resent later."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
from ledger.projections.limits import limit_key
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    Headers,
    created,
    make_user,
    make_world,
    new_event_id,
    sign_in,
)
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)

LIMIT = 5


@dataclass(frozen=True)
class Limited:
    settings: Settings
    end_window: Callable[[AsyncTestClient[Any], str], Awaitable[Any]]


@pytest.fixture(params=["redis", "memory"])
def limited(request: pytest.FixtureRequest, settings: Settings) -> Limited:
    """Limits on, counted in Redis (this run's test database) or in the process's memory;
    and how a test ends a caller's window at once, as a minute's wait would."""
    if request.param == "memory":
        return Limited(
            dataclasses.replace(settings, rate_limit_per_minute=LIMIT),
            lambda client, key: client.app.state.services.limiter.reset(key),
        )
    redis = request.getfixturevalue("redis")  # an empty test database, emptied again after
    prefix = f"batch{uuid.uuid4().hex[:6]}"
    return Limited(
        dataclasses.replace(
            settings, rate_limit_per_minute=LIMIT, redis_url=REDIS_URL, redis_prefix=prefix
        ),
        lambda _, key: redis.delete(limit_key(prefix, key)),  # the test's own connection
    )


async def _inspector_and_events(settings: Settings, count: int) -> tuple[Headers, list[Any]]:
    """The world is made with limits off; its inspector's token serves the limited app too."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        world = await make_world(client, admin)
        point = await created(
            client, admin, "/api/v1/points", {"compound_id": world.compound_id, "name": "全天点"}
        )
        inspector = await make_user(client, admin, Role.INSPECTOR, compound_ids=[world.compound_id])
    streams = ["kitchen", "recyclable", "hazardous", "other"]
    events = [
        {
            "type": "inspection",
            "event_id": new_event_id(),
            "household_token": world.card_token,
            "point_token": point["token"],
            "stream": streams[n % 4],
            "grade": "good",
        }
        for n in range(count)
    ]
    return inspector, events


def _user_id(headers: Headers) -> str:
    payload = headers["Authorization"].split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return str(claims["sub"])


async def test_events_beyond_the_allowance_get_429_each_and_are_taken_when_resent(
    admin_user: None, settings: Settings, limited: Limited
) -> None:
    inspector, events = await _inspector_and_events(settings, LIMIT + 3)
    async with AsyncTestClient(app=create_app(limited.settings)) as client:
        reply = await client.post(
            "/api/v1/events:batch", json={"events": events}, headers=inspector
        )
        assert reply.status_code == 200, reply.text
        results = reply.json()["results"]
        assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
        assert [r["status"] for r in results] == [201] * LIMIT + [429] * 3
        for result in results[LIMIT:]:
            assert result["body"]["code"] == "rate_limited"
            assert 1 <= result["body"]["retry_after_seconds"] <= 60
            assert str(result["body"]["retry_after_seconds"]) in result["body"]["detail"]
        # The allowance is spent: the next request is refused whole.
        refused = await client.post(
            "/api/v1/events:batch", json={"events": events[:1]}, headers=inspector
        )
        assert refused.status_code == 429

        # The window ends; the three, resent as they were, are taken (nothing was stored for
        # them), and a resend of the whole batch replays all eight.
        await limited.end_window(client, f"user:{_user_id(inspector)}")
        rest = await client.post(
            "/api/v1/events:batch", json={"events": events[LIMIT:]}, headers=inspector
        )
        assert [r["status"] for r in rest.json()["results"]] == [201] * 3
        assert [r["body"]["points_awarded"] for r in rest.json()["results"]] == [0, 0, 0]
        await limited.end_window(client, f"user:{_user_id(inspector)}")
        limited_settings = dataclasses.replace(limited.settings, rate_limit_per_minute=LIMIT + 3)
    async with AsyncTestClient(app=create_app(limited_settings)) as client:
        whole = await client.post(
            "/api/v1/events:batch", json={"events": events}, headers=inspector
        )
        assert whole.json()["results"] == results[:LIMIT] + rest.json()["results"]


async def test_a_batch_within_the_allowance_is_processed_whole(
    admin_user: None, settings: Settings, limited: Limited
) -> None:
    inspector, events = await _inspector_and_events(settings, LIMIT)
    async with AsyncTestClient(app=create_app(limited.settings)) as client:
        reply = await client.post(
            "/api/v1/events:batch", json={"events": events}, headers=inspector
        )
        assert [r["status"] for r in reply.json()["results"]] == [201] * LIMIT
