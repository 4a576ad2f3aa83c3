"""QR images, printable sheets and the public page a scanned code opens."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from ledger.domain.access import Role
from ledger.domain.scan_codes import CodeKind, ScanCode, sign
from tests.api.conftest import Headers, assert_error, created, make_user, make_world

Api = tuple[AsyncTestClient[Any], Headers]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def make_codes(client: AsyncTestClient[Any], admin: Headers) -> dict[str, Any]:
    world = await make_world(client, admin, compound="信义坊")
    point = await created(
        client, admin, "/api/v1/points", {"compound_id": world.compound_id, "name": "东门"}
    )
    duty_post = await created(
        client, admin, "/api/v1/posts", {"compound_id": world.compound_id, "name": "南门"}
    )
    return {"world": world, "household": world.household_id, "point": point, "post": duty_post}


@pytest.mark.parametrize("kind", ["household", "point", "post"])
async def test_each_kind_of_code_draws_as_svg_and_png(api: Api, kind: str) -> None:
    client, admin = api
    codes = await make_codes(client, admin)
    subject_id = codes["household"] if kind == "household" else codes[kind]["id"]

    svg = await client.get(f"/api/v1/qr/{kind}/{subject_id}.svg", headers=admin)
    assert svg.status_code == 200, svg.text
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content

    png = await client.get(f"/api/v1/qr/{kind}/{subject_id}.png", headers=admin)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG_MAGIC)


async def test_an_image_of_an_unknown_subject_is_not_found(api: Api) -> None:
    client, admin = api
    await make_codes(client, admin)
    for path in ("household/424242.svg", "point/424242.png", "post/9999999999999999.svg"):
        assert_error(await client.get(f"/api/v1/qr/{path}", headers=admin), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    ["household/1.gif", "household/1", "household/x.svg", "household/1.svg.png", "card/1.svg"],
)
async def test_a_bad_image_name_is_400(api: Api, path: str) -> None:
    client, admin = api
    await make_codes(client, admin)
    assert_error(await client.get(f"/api/v1/qr/{path}", headers=admin), 400, "validation_error")


async def test_images_are_for_admins_only(api: Api) -> None:
    client, admin = api
    codes = await make_codes(client, admin)
    resident = await make_user(client, admin, Role.RESIDENT, household_id=codes["household"])
    path = f"/api/v1/qr/household/{codes['household']}.svg"
    assert_error(await client.get(path, headers=resident), 403, "forbidden")
    assert_error(await client.get(path), 401, "unauthorized")


async def test_the_sheet_has_one_labelled_figure_per_household(api: Api) -> None:
    client, admin = api
    codes = await make_codes(client, admin)
    world = codes["world"]
    for room in ("302", "303"):
        await created(
            client,
            admin,
            "/api/v1/households",
            {"compound_id": world.compound_id, "building": "3", "unit": "2", "room": room},
        )
    response = await client.get(
        "/api/v1/qr/sheet",
        params={"compound_id": world.compound_id, "kind": "household"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "信义坊" in page
    assert len(re.findall(r"<figure\b", page)) == 3
    assert page.count("<svg") == 3
    for room in ("301", "302", "303"):
        assert f"3幢2单元{room}室" in page


async def test_the_sheet_of_points_lists_the_points(api: Api) -> None:
    client, admin = api
    codes = await make_codes(client, admin)
    response = await client.get(
        "/api/v1/qr/sheet",
        params={"compound_id": codes["world"].compound_id, "kind": "point"},
        headers=admin,
    )
    assert response.status_code == 200
    assert len(re.findall(r"<figure\b", response.text)) == 1
    assert "东门 · 投放点" in response.text


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"compound_id": 424242, "kind": "household"}, 404, "not_found"),
        ({"compound_id": 1, "kind": "card"}, 400, "validation_error"),
        ({"kind": "household"}, 400, "validation_error"),
        ({"compound_id": 2**70, "kind": "household"}, 400, "validation_error"),
    ],
    ids=["unknown compound", "unknown kind", "no compound", "huge compound"],
)
async def test_a_bad_sheet_request_is_refused(
    api: Api, params: dict[str, Any], status: int, code: str
) -> None:
    client, admin = api
    await make_codes(client, admin)
    response = await client.get("/api/v1/qr/sheet", params=params, headers=admin)
    assert_error(response, status, code)


async def test_a_scanned_code_opens_a_public_page_with_the_chinese_label(api: Api) -> None:
    client, admin = api
    codes = await make_codes(client, admin)
    card = await client.get(f"/q/{codes['world'].card_token}")
    assert card.status_code == 200
    assert card.headers["content-type"].startswith("text/html")
    assert "住户卡" in card.text
    assert "3幢2单元301室" in card.text
    assert "信义坊" in card.text
    point = await client.get(f"/q/{codes['point']['token']}")
    assert "投放点" in point.text
    assert "东门" in point.text
    duty_post = await client.get(f"/q/{codes['post']['token']}")
    assert "志愿岗" in duty_post.text


async def test_a_forged_code_page_says_the_check_failed(api: Api) -> None:
    client, admin = api
    codes = await make_codes(client, admin)
    token = codes["world"].card_token
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    response = await client.get(f"/q/{forged}")
    assert response.status_code == 404
    assert "校验失败" in response.text
    assert "3幢2单元301室" not in response.text


@pytest.mark.parametrize("token", ["hello", "1h.1.1", "1x.1.1.a.AAAAAAAAAAAAAAAA"])
async def test_an_unreadable_code_page_says_so(api: Api, token: str) -> None:
    client, _ = api
    response = await client.get(f"/q/{token}")
    assert response.status_code == 404
    assert "无法识别" in response.text


async def test_a_genuine_code_for_a_missing_subject_page_says_so(
    api: Api, settings: Settings
) -> None:
    client, admin = api
    await make_codes(client, admin)
    token = sign(ScanCode(CodeKind.HOUSEHOLD, 424242, 1), settings.keyring())
    response = await client.get(f"/q/{token}")
    assert response.status_code == 404
    assert "不存在" in response.text


async def test_an_overlong_code_is_not_found(api: Api) -> None:
    client, _ = api
    assert_error(await client.get("/q/" + "x" * 101), 404, "not_found")


async def test_a_non_ascii_code_is_refused_not_a_server_error(api: Api) -> None:
    client, admin = api
    codes = await make_codes(client, admin)
    response = await client.get("/q/" + codes["world"].card_token[:-1] + "码")
    assert response.status_code == 404
    assert "无效的二维码" in response.text


async def test_labels_are_html_escaped(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin, compound="<b>小区</b>")
    page = await client.get(f"/q/{world.card_token}")
    assert "<b>小区</b>" not in page.text
    assert "&lt;b&gt;小区&lt;/b&gt;" in page.text


async def test_an_empty_sheet_still_names_the_compound(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    empty = await created(
        client, admin, "/api/v1/compounds", {"community_id": world.community_id, "name": "空小区"}
    )
    response = await client.get(
        "/api/v1/qr/sheet", params={"compound_id": empty["id"], "kind": "household"}, headers=admin
    )
    assert response.status_code == 200
    assert "<figure" not in response.text
    assert "空小区" in response.text
