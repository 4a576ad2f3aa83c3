"""Every admin and coordinator action is listed with who, when, what and why."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from ledger.domain.access import Role
from tests.api.conftest import Headers, assert_error, created, make_user, make_world, new_event_id

Api = tuple[AsyncTestClient[Any], Headers]


async def test_admin_actions_are_listed_newest_first_with_reasons(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    credit = await created(
        client,
        admin,
        "/api/v1/adjustments",
        {"account_id": world.account_id, "amount_points": 20, "reason": "纸质积分本结转"},
    )
    await created(
        client, admin, f"/api/v1/entries/{credit['entry_id']}/reverse", {"reason": "录错了户"}
    )
    reissue = await client.post(
        f"/api/v1/households/{world.household_id}/card:reissue",
        json={"event_id": new_event_id()},
        headers=admin,
    )
    assert reissue.status_code == 200
    log = (await client.get("/api/v1/audit", headers=admin)).json()
    operations = [item["operation"] for item in log["items"]]
    assert operations[:3] == ["card_reissue", "reversal", "adjustment"]
    reversal = log["items"][1]
    assert reversal["actor"] == "admin"
    assert reversal["role"] == "admin"
    assert reversal["inputs"]["reason"] == "录错了户"
    assert reversal["outcome"] == "ok"


async def test_refusals_are_audited_too(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    refused = await client.post(
        "/api/v1/adjustments",
        json={
            "event_id": new_event_id(),
            "account_id": world.account_id,
            "amount_points": -5,
            "reason": "扣分",
        },
        headers=admin,
    )
    assert_error(refused, 409, "insufficient_points")
    latest = (await client.get("/api/v1/audit?limit=1", headers=admin)).json()["items"][0]
    assert latest["operation"] == "adjustment"
    assert latest["outcome"] == "insufficient_points"


async def test_the_log_pages_with_a_cursor_and_filters_by_actor(api: Api) -> None:
    client, admin = api
    for name in ("甲社区", "乙社区", "丙社区"):
        await created(client, admin, "/api/v1/communities", {"name": name})
    first = (await client.get("/api/v1/audit?limit=2", headers=admin)).json()
    assert len(first["items"]) == 2
    rest = (
        await client.get(f"/api/v1/audit?limit=2&cursor={first['next_cursor']}", headers=admin)
    ).json()
    seen = [i["event_id"] for i in first["items"]] + [i["event_id"] for i in rest["items"]]
    assert len(seen) == len(set(seen)) >= 3
    nobody = (await client.get("/api/v1/audit?actor=nobody", headers=admin)).json()
    assert nobody["items"] == []
    assert_error(
        await client.get("/api/v1/audit?cursor=garbage", headers=admin), 400, "validation_error"
    )


async def test_only_admins_read_the_log(api: Api) -> None:
    client, admin = api
    coordinator = await make_user(client, admin, Role.COORDINATOR)
    assert_error(await client.get("/api/v1/audit", headers=coordinator), 403, "forbidden")
    assert_error(await client.get("/api/v1/audit"), 401, "unauthorized")
