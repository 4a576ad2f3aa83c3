"""The registry through HTTP: create, list, replay, refuse."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient

from tests.api.conftest import Headers, World, assert_error, created, make_world, new_event_id

Api = tuple[AsyncTestClient[Any], Headers]
RESOURCES = (
    "communities",
    "compounds",
    "households",
    "points",
    "posts",
    "merchants",
    "volunteers",
    "rewards",
)


async def post(
    client: AsyncTestClient[Any], headers: Headers, path: str, body: dict[str, Any]
) -> Response:
    return await client.post(f"/api/v1/{path}", json=body, headers=headers)


async def make_one_of_each(client: AsyncTestClient[Any], admin: Headers) -> dict[str, Any]:
    """Every kind of registry record once, through the API; returns the replies."""
    world = await make_world(client, admin)
    point = await created(
        client,
        admin,
        "/api/v1/points",
        {
            "compound_id": world.compound_id,
            "name": "东门投放点",
            "windows": ["18:00-20:00", "07:00-09:00"],
        },
    )
    duty_post = await created(
        client, admin, "/api/v1/posts", {"compound_id": world.compound_id, "name": "东门岗"}
    )
    merchant = await created(
        client, admin, "/api/v1/merchants", {"community_id": world.community_id, "name": "便民超市"}
    )
    volunteer = await created(
        client, admin, "/api/v1/volunteers", {"community_id": world.community_id, "name": "张阿姨"}
    )
    reward = await created(
        client,
        admin,
        "/api/v1/rewards",
        {
            "community_id": world.community_id,
            "name": "环保袋",
            "cost_points": 50,
            "stock": 20,
            "monthly_limit_per_household": 2,
        },
    )
    return {
        "world": world,
        "point": point,
        "post": duty_post,
        "merchant": merchant,
        "volunteer": volunteer,
        "reward": reward,
    }


async def list_all(
    client: AsyncTestClient[Any], admin: Headers, resource: str, limit: int, **query: Any
) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor."""
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": limit, **query}
    while True:
        response = await client.get(f"/api/v1/{resource}", params=params, headers=admin)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) >= {"items", "next_cursor"}
        pages.append(body["items"])
        if body["next_cursor"] is None:
            return pages
        params["cursor"] = body["next_cursor"]
        assert len(pages) < 50, "the cursor does not advance"


async def test_a_whole_registry_is_made_through_http(api: Api) -> None:
    client, admin = api
    made = await make_one_of_each(client, admin)
    world: World = made["world"]
    assert world.card_token.startswith("1h.")
    assert made["point"]["token"].startswith("1p.")
    assert made["post"]["token"].startswith("1s.")
    assert isinstance(made["merchant"]["account_id"], int)
    assert isinstance(made["volunteer"]["account_id"], int)
    reward = made["reward"]
    assert reward["cost_points"] == 50
    assert reward["stock"] == 20
    assert reward["monthly_limit_per_household"] == 2

    (points,) = await list_all(client, admin, "points", 50, compound_id=world.compound_id)
    assert points[0]["windows"] == ["07:00-09:00", "18:00-20:00"]
    assert points[0]["token"] == made["point"]["token"]
    (households,) = await list_all(client, admin, "households", 50)
    assert households[0]["id"] == world.household_id
    assert households[0]["account_id"] == world.account_id
    assert households[0]["room"] == "301"


@pytest.mark.parametrize("resource", RESOURCES)
async def test_each_list_pages_with_limit_and_cursor(api: Api, resource: str) -> None:
    client, admin = api
    for index in range(3):
        await make_listable_records(client, admin, f"社区{index}", f"小区{index}")
    pages = await list_all(client, admin, resource, 2)
    ids = [item["id"] for page in pages for item in page]
    assert [len(page) for page in pages] == [2, 1]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    (everything,) = await list_all(client, admin, resource, 500)
    assert [item["id"] for item in everything] == ids


async def make_listable_records(
    client: AsyncTestClient[Any], admin: Headers, community: str, compound: str
) -> None:
    """One record of every listable kind, in a community and compound of their own."""
    world = await make_world(client, admin, community=community, compound=compound)
    for path, body in (
        ("points", {"compound_id": world.compound_id, "name": "投放点"}),
        ("posts", {"compound_id": world.compound_id, "name": "岗"}),
        ("merchants", {"community_id": world.community_id, "name": "超市"}),
        ("volunteers", {"community_id": world.community_id, "name": "志愿者"}),
        (
            "rewards",
            {"community_id": world.community_id, "name": "袋", "cost_points": 5, "stock": 0},
        ),
    ):
        await created(client, admin, f"/api/v1/{path}", body)


async def test_a_list_can_be_filtered_by_its_parent(api: Api) -> None:
    client, admin = api
    first = await make_world(client, admin, community="甲社区", compound="甲小区")
    await make_world(client, admin, community="乙社区", compound="乙小区")
    (compounds,) = await list_all(client, admin, "compounds", 50, community_id=first.community_id)
    assert [item["id"] for item in compounds] == [first.compound_id]


async def test_an_empty_list_has_no_next_cursor(api: Api) -> None:
    client, admin = api
    response = await client.get("/api/v1/merchants", headers=admin)
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"limit": 0}, "limit", id="limit 0"),
        pytest.param({"limit": 501}, "limit", id="limit 501"),
        pytest.param({"limit": "ten"}, "limit", id="limit text"),
        pytest.param({"cursor": "not-a-cursor"}, "cursor", id="forged cursor"),
        pytest.param({"community_id": 2**70}, "community_id", id="huge filter"),
    ],
)
async def test_bad_list_parameters_are_400_naming_the_parameter(
    api: Api, query: dict[str, Any], field: str
) -> None:
    client, admin = api
    response = await client.get("/api/v1/compounds", params=query, headers=admin)
    assert assert_error(response, 400, "validation_error")["field"] == field


async def registry_bodies(client: AsyncTestClient[Any], admin: Headers) -> dict[str, Any]:
    world = await make_world(client, admin)
    return {
        "communities": {"name": "新社区"},
        "compounds": {"community_id": world.community_id, "name": "新小区"},
        "households": {"compound_id": world.compound_id, "building": "9", "unit": "1", "room": "1"},
        "points": {"compound_id": world.compound_id, "name": "新点", "windows": ["07:00-09:00"]},
        "posts": {"compound_id": world.compound_id, "name": "新岗"},
        "merchants": {"community_id": world.community_id, "name": "新店"},
        "volunteers": {"community_id": world.community_id, "name": "新人"},
        "rewards": {
            "community_id": world.community_id,
            "name": "新品",
            "cost_points": 9,
            "stock": 1,
        },
    }


@pytest.mark.parametrize("resource", RESOURCES)
async def test_a_replayed_create_returns_the_first_reply_and_makes_nothing(
    api: Api, resource: str
) -> None:
    client, admin = api
    body = {"event_id": new_event_id(), **(await registry_bodies(client, admin))[resource]}
    (before,) = await list_all(client, admin, resource, 500)
    first = await post(client, admin, resource, body)
    assert first.status_code == 201, first.text
    again = await post(client, admin, resource, body)
    assert again.status_code == 201
    assert again.json() == first.json()
    (after,) = await list_all(client, admin, resource, 500)
    assert len(after) == len(before) + 1


@pytest.mark.parametrize("resource", RESOURCES)
async def test_a_reused_event_id_with_another_body_is_a_conflict(api: Api, resource: str) -> None:
    client, admin = api
    body = {"event_id": new_event_id(), **(await registry_bodies(client, admin))[resource]}
    assert (await post(client, admin, resource, body)).status_code == 201
    changed = body | {"name": "别的名字"} if "name" in body else body | {"room": "2"}
    (before,) = await list_all(client, admin, resource, 500)
    assert_error(await post(client, admin, resource, changed), 409, "idempotency_conflict")
    (after,) = await list_all(client, admin, resource, 500)
    assert after == before


async def test_an_event_id_is_not_shared_between_kinds_of_write(api: Api) -> None:
    client, admin = api
    event_id = new_event_id()
    assert (
        await post(client, admin, "communities", {"event_id": event_id, "name": "A"})
    ).status_code == 201
    response = await post(
        client, admin, "merchants", {"event_id": event_id, "community_id": 1, "name": "A"}
    )
    assert_error(response, 409, "idempotency_conflict")


async def test_a_replayed_refusal_is_refused_the_same_way(api: Api) -> None:
    client, admin = api
    body = {
        "event_id": new_event_id(),
        "compound_id": 424_242,
        "building": "1",
        "unit": "1",
        "room": "1",
    }
    first = assert_error(await post(client, admin, "households", body), 404, "not_found")
    assert assert_error(await post(client, admin, "households", body), 404, "not_found") == first


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param("communities", {}, "name", id="missing field"),
        pytest.param("communities", {"name": "A", "nmae": "B"}, "nmae", id="unknown field"),
        pytest.param("communities", {"name": "长" * 101}, "name", id="too-long name"),
        pytest.param("communities", {"name": "   "}, "name", id="blank name"),
        pytest.param("communities", {"name": 5}, "name", id="name not a string"),
        pytest.param(
            "points",
            {"compound_id": 1, "name": "P", "windows": ["25:00-26:00"]},
            "windows",
            id="bad window",
        ),
        pytest.param(
            "points",
            {"compound_id": 1, "name": "P", "windows": ["07:00-09:00", "08:00-10:00"]},
            "windows",
            id="overlapping windows",
        ),
        pytest.param(
            "points",
            {"compound_id": 1, "name": "P", "windows": "07:00-09:00"},
            "windows",
            id="windows not a list",
        ),
        pytest.param(
            "rewards",
            {"community_id": 1, "name": "R", "cost_points": 5, "stock": -1},
            "stock",
            id="negative stock",
        ),
        pytest.param(
            "rewards",
            {"community_id": 1, "name": "R", "cost_points": 0, "stock": 1},
            "cost_points",
            id="zero cost",
        ),
        pytest.param(
            "households",
            {"compound_id": 2**70, "building": "1", "unit": "1", "room": "1"},
            "compound_id",
            id="huge id in body",
        ),
        pytest.param(
            "households",
            {"compound_id": 1, "building": "1", "unit": "1", "room": "1,2"},
            "room",
            id="comma in room",
        ),
        pytest.param(
            "households",
            {"compound_id": 1, "building": "1", "unit": "1", "room": "x" * 21},
            "room",
            id="too-long room",
        ),
        pytest.param("compounds", {"community_id": 0, "name": "C"}, "community_id", id="id 0"),
        pytest.param("compounds", {"community_id": -3, "name": "C"}, "community_id", id="id -3"),
        pytest.param(
            "compounds", {"community_id": 1.5, "name": "C"}, "community_id", id="fractional id"
        ),
        pytest.param(
            "compounds", {"community_id": True, "name": "C"}, "community_id", id="id as boolean"
        ),
    ],
)
async def test_bad_input_is_400_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    client, admin = api
    await make_world(client, admin)
    response = await post(client, admin, path, {"event_id": new_event_id(), **body})
    assert assert_error(response, 400, "validation_error")["field"] == field


@pytest.mark.parametrize(
    "event_id",
    ["has spaces", "", "x" * 65, "斜/杠", "trailing-newline\n"],
    ids=["spaces", "empty", "65 chars", "bad characters", "trailing newline"],
)
async def test_a_bad_event_id_is_400_naming_the_field(api: Api, event_id: str) -> None:
    client, admin = api
    response = await post(client, admin, "communities", {"event_id": event_id, "name": "A"})
    assert assert_error(response, 400, "validation_error")["field"] == "event_id"


async def test_a_missing_event_id_is_400_naming_the_field(api: Api) -> None:
    client, admin = api
    response = await post(client, admin, "communities", {"name": "A"})
    assert assert_error(response, 400, "validation_error")["field"] == "event_id"


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b"null", b'"text"'],
    ids=["broken json", "array", "null", "string"],
)
async def test_a_body_that_is_not_an_object_is_400(api: Api, raw: bytes) -> None:
    client, admin = api
    response = await client.post(
        "/api/v1/communities",
        content=raw,
        headers=admin | {"Content-Type": "application/json"},
    )
    assert_error(response, 400, "validation_error")


async def test_a_huge_id_in_the_path_is_400_naming_it(api: Api) -> None:
    client, admin = api
    response = await client.post(
        f"/api/v1/households/{2**70}/card:reissue",
        json={"event_id": new_event_id()},
        headers=admin,
    )
    assert assert_error(response, 400, "validation_error")["field"] == "household_id"


async def test_a_known_address_is_a_duplicate(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin, room="301")
    body = {"compound_id": world.compound_id, "building": "3", "unit": "2", "room": " 301 "}
    response = await post(client, admin, "households", {"event_id": new_event_id(), **body})
    assert_error(response, 409, "duplicate")


async def test_a_known_community_name_is_a_duplicate(api: Api) -> None:
    client, admin = api
    await make_world(client, admin, community="卖鱼桥社区")
    response = await post(
        client, admin, "communities", {"event_id": new_event_id(), "name": "卖鱼桥社区"}
    )
    assert_error(response, 409, "duplicate")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("households", {"compound_id": 999_999, "building": "1", "unit": "1", "room": "1"}),
        ("points", {"compound_id": 999_999, "name": "P"}),
        ("posts", {"compound_id": 999_999, "name": "P"}),
        ("compounds", {"community_id": 999_999, "name": "C"}),
        ("merchants", {"community_id": 999_999, "name": "M"}),
        ("volunteers", {"community_id": 999_999, "name": "V"}),
        ("rewards", {"community_id": 999_999, "name": "R", "cost_points": 1, "stock": 1}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_an_unknown_parent_is_not_found(api: Api, path: str, body: dict[str, Any]) -> None:
    client, admin = api
    response = await post(client, admin, path, {"event_id": new_event_id(), **body})
    assert_error(response, 404, "not_found")


async def test_reissuing_a_card_voids_the_old_one(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    old_page = await client.get(f"/q/{world.card_token}")
    assert old_page.status_code == 200
    assert "3幢2单元301室" in old_page.text

    event_id = new_event_id()
    path = f"/api/v1/households/{world.household_id}/card:reissue"
    response = await client.post(path, json={"event_id": event_id}, headers=admin)
    assert response.status_code == 200, response.text
    new_token = response.json()["card_token"]
    assert new_token != world.card_token

    replay = await client.post(path, json={"event_id": event_id}, headers=admin)
    assert replay.status_code == 200
    assert set(response.json()) == {"card_token", "short_code", "join_code"}
    assert replay.json() == response.json()

    refused = await client.get(f"/q/{world.card_token}")
    assert refused.status_code == 404  # an unusable code is a 404 page (issue 13 #4)
    assert "已补办" in refused.text
    assert "3幢2单元301室" not in refused.text

    accepted = await client.get(f"/q/{new_token}")
    assert accepted.status_code == 200
    assert "已补办" not in accepted.text
    assert "3幢2单元301室" in accepted.text

    (households,) = await list_all(client, admin, "households", 50)
    assert households[0]["token"] == new_token
    assert households[0]["short_code"] == response.json()["short_code"]


async def test_reissuing_an_unknown_card_is_not_found(api: Api) -> None:
    client, admin = api
    response = await client.post(
        "/api/v1/households/424242/card:reissue", json={"event_id": new_event_id()}, headers=admin
    )
    assert_error(response, 404, "not_found")
