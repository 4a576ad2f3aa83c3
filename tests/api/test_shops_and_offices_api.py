"""Shops and offices through HTTP (issue 15, item 4): kinds of compounds and units, their names
in lists, boards, reports, the card sheet and the home page; every misfit refused naming the
field, with nothing written."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from ledger.domain.access import Role
from ledger.domain.localtime import local_day
from tests.api.conftest import (
    Headers,
    assert_error,
    created,
    make_user,
    new_event_id,
)
from tests.api.pages_helpers import csrf_from

Api = tuple[AsyncTestClient[Any], Headers]


async def _places(client: AsyncTestClient[Any], admin: Headers) -> dict[str, int]:
    """A community with a residential compound, a shop street and an office building."""
    community = (await created(client, admin, "/api/v1/communities", {"name": "卖鱼桥社区"}))["id"]
    ids = {"community": community}
    for name, kind in (
        ("信义坊", None),
        ("胜利河美食街", "shop_street"),
        ("湖墅大厦", "office_building"),
    ):
        body = {"community_id": community, "name": name} | ({"kind": kind} if kind else {})
        reply = await created(client, admin, "/api/v1/compounds", body)
        assert reply["kind"] == (kind or "residential")
        ids[kind or "residential"] = reply["id"]
    return ids


async def test_shops_and_offices_are_made_and_listed_with_their_kind_and_name(api: Api) -> None:
    client, admin = api
    places = await _places(client, admin)
    shop = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": places["shop_street"], "kind": "shop", "name": "胜利河面馆"},
    )
    assert shop["card_token"]
    assert shop["short_code"].isdigit()
    office = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": places["office_building"], "kind": "office", "name": "湖墅律师事务所"},
    )
    flat = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": places["residential"], "building": "3", "unit": "2", "room": "301"},
    )
    listed = await client.get("/api/v1/households", headers=admin)
    assert listed.status_code == 200, listed.text
    rows = {row["id"]: row for row in listed.json()["items"]}
    assert {k: rows[shop["id"]][k] for k in ("kind", "name", "building", "unit", "room")} == {
        "kind": "shop",
        "name": "胜利河面馆",
        "building": "",
        "unit": "",
        "room": "",
    }
    assert (rows[office["id"]]["kind"], rows[office["id"]]["name"]) == ("office", "湖墅律师事务所")
    assert (rows[flat["id"]]["kind"], rows[flat["id"]]["name"]) == ("household", "")
    compounds = await client.get(
        "/api/v1/compounds", params={"community_id": places["community"]}, headers=admin
    )
    assert [c["kind"] for c in compounds.json()["items"]] == [
        "residential",
        "shop_street",
        "office_building",
    ]


async def _households(client: AsyncTestClient[Any], admin: Headers) -> list[dict[str, Any]]:
    reply = await client.get("/api/v1/households", params={"limit": 500}, headers=admin)
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


REFUSALS = [
    # (compound, body, status, code, field)
    ("residential", {"kind": "shop", "name": "小卖部"}, 400, "validation_error", "kind"),
    ("shop_street", {"building": "1", "unit": "1", "room": "101"}, 400, "validation_error", "kind"),
    ("shop_street", {"kind": "office", "name": "设计公司"}, 400, "validation_error", "kind"),
    ("office_building", {"kind": "shop", "name": "咖啡馆"}, 400, "validation_error", "kind"),
    ("shop_street", {"kind": "shop"}, 400, "validation_error", "name"),
    ("shop_street", {"kind": "shop", "name": "   "}, 400, "validation_error", "name"),
    ("shop_street", {"kind": "shop", "name": "面馆", "room": "1"}, 400, "validation_error", "room"),
    ("residential", {"building": "3", "unit": "2"}, 400, "validation_error", "room"),
    (
        "residential",
        {"building": "3", "unit": "2", "room": "301", "name": "王家"},
        400,
        "validation_error",
        "name",
    ),
    ("shop_street", {"kind": "restaurant", "name": "面馆"}, 400, "validation_error", "kind"),
    ("shop_street", {"kind": "shop", "name": "胜利河面馆"}, 409, "duplicate", ""),
]


@pytest.mark.parametrize(("place", "body", "status", "code", "field"), REFUSALS)
async def test_a_unit_that_does_not_fit_is_refused_naming_the_field(
    api: Api, place: str, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    client, admin = api
    places = await _places(client, admin)
    await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": places["shop_street"], "kind": "shop", "name": "胜利河面馆"},
    )
    before = await _households(client, admin)
    response = await client.post(
        "/api/v1/households",
        json={"event_id": new_event_id(), "compound_id": places[place], **body},
        headers=admin,
    )
    error = assert_error(response, status, code)
    if field:
        assert error["field"] == field, error
    assert await _households(client, admin) == before


async def test_a_compound_of_an_unknown_kind_is_refused(api: Api) -> None:
    client, admin = api
    places = await _places(client, admin)
    response = await client.post(
        "/api/v1/compounds",
        json={
            "event_id": new_event_id(),
            "community_id": places["community"],
            "name": "科技园",
            "kind": "industrial_park",
        },
        headers=admin,
    )
    assert assert_error(response, 400, "validation_error")["field"] == "kind"


async def test_a_replayed_shop_gets_its_first_reply(api: Api) -> None:
    client, admin = api
    places = await _places(client, admin)
    body = {
        "event_id": new_event_id(),
        "compound_id": places["shop_street"],
        "kind": "shop",
        "name": "运河茶馆",
    }
    first = await client.post("/api/v1/households", json=body, headers=admin)
    again = await client.post("/api/v1/households", json=body, headers=admin)
    assert first.status_code == 201, first.text
    assert again.json() == first.json()
    changed = await client.post(
        "/api/v1/households", json=body | {"name": "运河奶茶"}, headers=admin
    )
    assert_error(changed, 409, "idempotency_conflict")


RULE_REFUSALS = [
    ({"grade_points_by_kind": {"household": {"good": 1, "fair": 1, "poor": 0}}}, "household"),
    ({"grade_points_by_kind": {"shop": {"good": 20, "fair": 8}}}, "shop.poor"),
    ({"grade_points_by_kind": {"shop": {"good": -1, "fair": 8, "poor": 0}}}, "shop.good"),
    ({"grade_points_by_kind": {"shop": [20, 8, 0]}}, "shop"),
    ({"grade_points_by_kind": []}, ""),
    ({"grading_daily_cap_points_by_kind": {"office": 10_001}}, "office"),
    ({"grading_daily_cap_points_by_kind": {"restaurant": 60}}, "restaurant"),
]


@pytest.mark.parametrize(("rules", "where"), RULE_REFUSALS)
async def test_per_kind_rules_are_checked_naming_the_field(
    api: Api, rules: dict[str, Any], where: str
) -> None:
    client, admin = api
    places = await _places(client, admin)
    response = await client.put(
        f"/api/v1/communities/{places['community']}/rules",
        json={
            "event_id": new_event_id(),
            "effective_from": "2099-01-01T00:00:00+08:00",
            "rules": rules,
        },
        headers=admin,
    )
    key = next(iter(rules))
    expected = f"rules.{key}" + (f".{where}" if where else "")
    assert assert_error(response, 400, "validation_error")["field"] == expected


async def test_per_kind_rules_are_stored_and_read_back(api: Api) -> None:
    client, admin = api
    places = await _places(client, admin)
    rules = {
        "grade_points_by_kind": {"shop": {"good": 20, "fair": 8, "poor": 0}},
        "grading_daily_cap_points_by_kind": {"shop": 60},
    }
    response = await client.put(
        f"/api/v1/communities/{places['community']}/rules",
        json={
            "event_id": new_event_id(),
            "effective_from": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "rules": rules,
        },
        headers=admin,
    )
    assert response.status_code in (200, 201), response.text
    current = await client.get(f"/api/v1/communities/{places['community']}/rules", headers=admin)
    assert {key: current.json()["rules"][key] for key in rules} == rules
    assert current.json()["rules"]["grade_points"] == {"good": 10, "fair": 5, "poor": 0}


async def _graded_street(client: AsyncTestClient[Any], admin: Headers) -> dict[str, Any]:
    """Two shops on the street, one graded good and one fair, and a household graded good."""
    places = await _places(client, admin)
    shops = [
        await created(
            client,
            admin,
            "/api/v1/households",
            {"compound_id": places["shop_street"], "kind": "shop", "name": name},
        )
        for name in ("胜利河面馆", "运河茶馆")
    ]
    flat = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": places["residential"], "building": "3", "unit": "2", "room": "301"},
    )
    points = {
        place: await created(
            client,
            admin,
            "/api/v1/points",
            {"compound_id": places[place], "name": "投放点", "windows": ["00:00-24:00"]},
        )
        for place in ("shop_street", "residential")
    }
    inspector = await make_user(
        client,
        admin,
        Role.INSPECTOR,
        compound_ids=[places["shop_street"], places["residential"]],
    )
    for card, point, grade in (
        (shops[1]["card_token"], points["shop_street"]["token"], "fair"),
        (shops[0]["card_token"], points["shop_street"]["token"], "good"),
        (flat["card_token"], points["residential"]["token"], "good"),
    ):
        body = {
            "household_token": card,
            "point_token": point,
            "stream": "kitchen",
            "grade": grade,
        }
        await created(client, inspector, "/api/v1/inspections", body)
    return {"places": places, "shops": shops, "flat": flat}


async def test_the_street_s_board_ranks_its_shops_by_name(api: Api) -> None:
    client, admin = api
    street = await _graded_street(client, admin)
    response = await client.get(
        "/api/v1/leaderboards",
        params={
            "board": "households",
            "period": "all",
            "scope_id": street["places"]["shop_street"],
        },
    )
    assert response.status_code == 200, response.text
    items = [(i["rank"], i["label"], i["value"]) for i in response.json()["items"]]
    assert items == [(1, "胜利河面馆", 10), (2, "运河茶馆", 5)]
    assert str(street["flat"]["id"]) not in [i["id"] for i in response.json()["items"]]


async def test_the_report_has_the_kind_of_each_compound_as_json_and_csv(api: Api) -> None:
    client, admin = api
    street = await _graded_street(client, admin)
    # The app runs on the system's clock: yesterday and today hold the gradings just made.
    today = local_day(datetime.now(UTC))
    params = {
        "community_id": street["places"]["community"],
        "from": (today - timedelta(days=1)).isoformat(),
        "to": today.isoformat(),
    }
    body = (await client.get("/api/v1/reports/compounds", params=params, headers=admin)).json()
    rows = {row["compound"]: row for row in body["rows"]}
    assert rows["胜利河美食街"]["kind"] == "shop_street"
    assert (rows["胜利河美食街"]["households"], rows["胜利河美食街"]["points_issued"]) == (2, 15)
    assert (rows["信义坊"]["kind"], rows["信义坊"]["points_issued"]) == ("residential", 10)
    assert rows["湖墅大厦"]["kind"] == "office_building"
    sheet = await client.get(
        "/api/v1/reports/compounds", params=params | {"format": "csv"}, headers=admin
    )
    table = list(csv.reader(io.StringIO(sheet.text.lstrip("\ufeff"))))
    assert table[0][:4] == ["compound_id", "compound", "kind", "households"]
    assert [row[2] for row in table[1:]] == ["residential", "shop_street", "office_building"]


async def test_the_card_sheet_labels_a_shop_by_its_name(api: Api) -> None:
    client, admin = api
    street = await _graded_street(client, admin)
    response = await client.get(
        "/api/v1/qr/sheet",
        params={"compound_id": street["places"]["shop_street"], "kind": "household"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert len(re.findall(r"<figure\b", response.text)) == 2
    for name in ("胜利河面馆", "运河茶馆"):
        assert name in response.text
    assert "单元" not in response.text


async def test_a_shop_s_home_page_shows_its_name(api: Api) -> None:
    client, admin = api
    street = await _graded_street(client, admin)
    shop = street["shops"][0]
    await created(
        client,
        admin,
        "/api/v1/users",
        {
            "username": "noodles",
            "password": "shop-password-2026",
            "role": "resident",
            "household_id": shop["id"],
        },
    )
    form = await client.get("/login")
    signed_in = await client.post(
        "/login",
        data={
            "username": "noodles",
            "password": "shop-password-2026",
            "_csrf_token": csrf_from(form.text),
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    home = await client.get("/home")
    assert home.status_code == 200, home.text
    assert "胜利河美食街 · 胜利河面馆" in home.text
    assert "Building" not in home.text
    assert "幢" not in home.text
