"""A helper acts for an elderly household (issue 15, item 2): one person lives in one household
and helps another, names the one they act for where it is ambiguous, and everything they do for
the helped household is labelled "by helper NAME"."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import Headers, assert_error, bearer, created, make_world, new_event_id
from tests.api.test_join_api import joined, reset_code

Api = tuple[AsyncTestClient[Any], Headers]
PHONE = "13812345678"
PIN = "284913"


async def helper_of_two(client: AsyncTestClient[Any], admin: Headers) -> dict[str, Any]:
    """A person who lives in household `own` and helps household `helped`; a point open all
    day, a reward, and 50 points on the helped household."""
    world = await make_world(client, admin)
    helped = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": world.compound_id, "building": "7", "unit": "1", "room": "101"},
    )
    stranger = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": world.compound_id, "building": "8", "unit": "1", "room": "101"},
    )
    point = await created(
        client, admin, "/api/v1/points", {"compound_id": world.compound_id, "name": "全天点"}
    )
    reward = await created(
        client,
        admin,
        "/api/v1/rewards",
        {"community_id": world.community_id, "name": "垃圾袋一卷", "cost_points": 10, "stock": 5},
    )
    await created(
        client,
        admin,
        "/api/v1/adjustments",
        {"account_id": helped["account_id"], "amount_points": 50, "reason": "纸质积分本结转"},
    )
    code = await reset_code(client, admin, world.household_id)
    await joined(client, world.card_token, code, phone=PHONE, pin=PIN, display_name="小王")
    helping = await joined(
        client, helped["card_token"], helped["join_code"], phone=PHONE, pin=PIN, as_helper=True
    )
    return {
        "own": world.household_id,
        "helped": helped["id"],
        "helped_account": helped["account_id"],
        "stranger": stranger["id"],
        "point_token": point["token"],
        "reward_id": reward["id"],
        "headers": bearer(helping["access_token"]),
    }


async def test_a_helper_names_the_household_where_it_is_ambiguous(api: Api) -> None:
    client, admin = api
    h = await helper_of_two(client, admin)
    me = (await client.get("/api/v1/me", headers=h["headers"])).json()
    assert [(x["household_id"], x["helper"]) for x in me["households"]] == [
        (h["own"], False),
        (h["helped"], True),
    ]
    assert me["household_id"] == h["own"]
    dropoff = {"event_id": new_event_id(), "point_token": h["point_token"]}
    ambiguous = await client.post("/api/v1/dropoffs", json=dropoff, headers=h["headers"])
    error = assert_error(ambiguous, 400, "household_ambiguous")
    assert error["choices"] == [h["own"], h["helped"]]
    assert error["field"] == "household_id"
    not_theirs = dropoff | {"event_id": new_event_id(), "household_id": h["stranger"]}
    refused = await client.post("/api/v1/dropoffs", json=not_theirs, headers=h["headers"])
    assert_error(refused, 403, "forbidden")
    for household_id in (h["helped"], h["own"]):
        body = dropoff | {"event_id": new_event_id(), "household_id": household_id}
        done = await client.post("/api/v1/dropoffs", json=body, headers=h["headers"])
        assert done.status_code == 201, done.text
    audit = await client.get("/api/v1/audit", params={"role": "resident"}, headers=admin)
    labels = {
        item["inputs"].get("household_id"): item["inputs"].get("by")
        for item in audit.json()["items"]
        if item["operation"] == "dropoff"
    }
    assert labels == {h["helped"]: "by helper 小王", h["own"]: ""}


async def test_what_a_helper_redeems_is_labelled_in_the_household_s_history(api: Api) -> None:
    client, admin = api
    h = await helper_of_two(client, admin)
    body = {
        "event_id": new_event_id(),
        "household_id": h["helped"],
        "reward_id": h["reward_id"],
        "quantity": 1,
    }
    redeemed = await client.post("/api/v1/redemptions", json=body, headers=h["headers"])
    assert redeemed.status_code == 201, redeemed.text
    entries = await client.get(
        f"/api/v1/accounts/{h['helped_account']}/entries", headers=h["headers"]
    )
    assert entries.status_code == 200, entries.text
    memos = [e["memo"] for e in entries.json()["items"] if e["kind"] == "redemption"]
    assert memos == ["垃圾袋一卷 × 1 (by helper 小王)"]
    members = await client.get(f"/api/v1/households/{h['helped']}/members", headers=h["headers"])
    assert [(m["display_name"], m["helper"]) for m in members.json()["items"]] == [("小王", True)]


async def test_a_helper_of_one_household_acts_for_it_without_naming_it(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    point = await created(
        client, admin, "/api/v1/points", {"compound_id": world.compound_id, "name": "全天点"}
    )
    code = await reset_code(client, admin, world.household_id)
    helper = await joined(
        client, world.card_token, code, phone=PHONE, pin=PIN, display_name="小李", as_helper=True
    )
    me = (await client.get("/api/v1/me", headers=bearer(helper["access_token"]))).json()
    assert me["household_id"] == world.household_id
    assert me["households"][0]["helper"] is True
    body = {"event_id": new_event_id(), "point_token": point["token"]}
    done = await client.post("/api/v1/dropoffs", json=body, headers=bearer(helper["access_token"]))
    assert done.status_code == 201, done.text
    home = await client.get("/home", headers=bearer(helper["access_token"]))
    assert home.status_code == 200, home.text
    assert 'id="helping"' in home.text
