"""Hostile bodies are refused with a 4xx naming the problem, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.api.conftest import Headers, assert_error, created, new_event_id

Api = tuple[AsyncTestClient[Any], Headers]

HOSTILE_BODIES = {
    "oversized": (b'{"event_id":"a1","name":"' + b"x" * 3_000_000 + b'"}', 413, "body_too_large"),
    "deeply nested": (
        b'{"event_id":"a2","name":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        400,
        "validation_error",
    ),
    "bad utf-8": (b'{"event_id":"a3","name":"\xff\xfe"}', 400, "validation_error"),
    "truncated": (b'{"event_id":', 400, "validation_error"),
    "not an object": (b"[1, 2]", 400, "validation_error"),
    "nul in a name": (b'{"event_id":"a4","name":"x\\u0000y"}', 400, "validation_error"),
    "control character": (b'{"event_id":"a5","name":"x\\u0007"}', 400, "validation_error"),
    "unknown field": (b'{"event_id":"a6","name":"x","is_admin":true}', 400, "validation_error"),
}


async def _communities(client: AsyncTestClient[Any], admin: Headers) -> int:
    return len((await client.get("/api/v1/communities", headers=admin)).json()["items"])


@pytest.mark.parametrize("case", list(HOSTILE_BODIES))
async def test_a_hostile_body_is_refused_and_writes_nothing(api: Api, case: str) -> None:
    client, admin = api
    body, status, code = HOSTILE_BODIES[case]
    headers = admin | {"content-type": "application/json"}
    refused = await client.post("/api/v1/communities", content=body, headers=headers)
    assert_error(refused, status, code)
    assert await _communities(client, admin) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("community_id", 10**400),
        ("community_id", -1),
        ("community_id", 0),
        ("community_id", 1.5),
        ("community_id", "1x"),
        ("name", "x" * 101),
    ],
)
async def test_huge_negative_zero_and_wrong_numbers_are_refused(
    api: Api, field: str, value: object
) -> None:
    client, admin = api
    await created(client, admin, "/api/v1/communities", {"name": "卖鱼桥社区"})
    body = {"event_id": new_event_id(), "community_id": 1, "name": "信义坊", field: value}
    refused = await client.post("/api/v1/compounds", json=body, headers=admin)
    assert_error(refused, 400, "validation_error")
    compounds = await client.get("/api/v1/compounds", headers=admin)
    assert compounds.json()["items"] == []


@pytest.mark.parametrize("amount", [0, -(10**10), 10**10, 10**30])
async def test_zero_and_absurd_amounts_are_refused(api: Api, amount: int) -> None:
    client, admin = api
    community = await created(client, admin, "/api/v1/communities", {"name": "卖鱼桥社区"})
    merchant = await created(
        client, admin, "/api/v1/merchants", {"community_id": community["id"], "name": "菜场"}
    )
    body = {
        "event_id": new_event_id(),
        "account_id": merchant["account_id"],
        "amount_points": amount,
        "reason": "test",
    }
    assert_error(
        await client.post("/api/v1/adjustments", json=body, headers=admin), 400, "validation_error"
    )
    account = await client.get(f"/api/v1/accounts/{merchant['account_id']}", headers=admin)
    assert account.json()["balance_points"] == 0


@pytest.mark.parametrize(
    "effective_from",
    ["9999-12-31T00:00:00+08:00", "0001-01-01T00:00:00+08:00", "2026-12-01T00:00:00", "soon"],
)
async def test_far_future_far_past_and_naive_times_are_refused(
    api: Api, effective_from: str
) -> None:
    client, admin = api
    community = await created(client, admin, "/api/v1/communities", {"name": "卖鱼桥社区"})
    body = {"event_id": new_event_id(), "effective_from": effective_from, "rules": {}}
    refused = await client.put(
        f"/api/v1/communities/{community['id']}/rules", json=body, headers=admin
    )
    assert 400 <= refused.status_code < 500
    rules = await client.get(f"/api/v1/communities/{community['id']}/rules", headers=admin)
    assert rules.json()["version"] == 1
