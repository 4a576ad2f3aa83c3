"""Registry edits in piccolo-admin (/admin): the same checks and history as the API.

The admin's form sends every column back on each save, the fixed ones too; these tests send
what the form sends: the row as the admin reads it, with some fields changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from ledger.services.registry import CompoundCreated, HouseholdCreated, HouseholdRequest
from tests.api.pages_helpers import seed, sign_in_page

Client = AsyncTestClient[Any]


@pytest.fixture
async def admin(fresh_db: None, settings: Settings) -> AsyncIterator[Client]:
    await seed(settings)
    registry = Services.build(settings.keyring(), settings.base_url).registry
    await registry.create_point(SYSTEM, "e-1", 1, "2幢西侧投放点", ["07:00-09:00"])
    async with AsyncTestClient(app=create_app(settings)) as client:
        await sign_in_page(client, "admin")
        yield client


async def row(client: Client, table: str, row_id: int = 1) -> dict[str, Any]:
    reply = await client.get(f"/admin/api/tables/{table}/{row_id}/")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def save(client: Client, table: str, form: dict[str, Any], row_id: int = 1) -> Any:
    """PATCH as the admin's form does, with its CSRF header."""
    csrf = {"X-CSRFToken": client.cookies.get("csrftoken", "")}
    return await client.patch(f"/admin/api/tables/{table}/{row_id}/", json=form, headers=csrf)


async def history(client: Client, reward_id: int = 1) -> list[dict[str, Any]]:
    reply = await client.get(f"/api/v1/rewards/{reward_id}/history")
    assert reply.status_code == 200, reply.text
    changes: list[dict[str, Any]] = reply.json()
    return changes


def refused_field(reply: Any) -> str:
    """piccolo-admin's form shows a 422 whose detail is a list of {loc, msg}; any other
    shape leaves the form blank with its save button disabled."""
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert isinstance(detail, list), detail
    assert detail[0]["msg"]
    return str(detail[0]["loc"][-1])


async def test_saving_a_row_unchanged_with_its_fixed_columns_is_accepted(admin: Client) -> None:
    for table in ("household", "collection_point", "reward", "merchant", "compound"):
        before = await row(admin, table)
        reply = await save(admin, table, before)
        assert reply.status_code == 200, (table, reply.text)
        assert await row(admin, table) == before
    assert [change["change"] for change in await history(admin)] == ["created"]


async def test_a_point_s_name_and_windows_are_edited_and_checked(admin: Client) -> None:
    form = await row(admin, "collection_point")
    form.update(name=" 1幢西侧投放点 ", windows="17:00-19:00, 07:00-09:00")
    reply = await save(admin, "collection_point", form)
    assert reply.status_code == 200, reply.text
    saved = await row(admin, "collection_point")
    assert (saved["name"], saved["windows"]) == ("1幢西侧投放点", "07:00-09:00,17:00-19:00")
    listed = (await admin.get("/api/v1/points")).json()["items"][0]
    assert listed["windows"] == ["07:00-09:00", "17:00-19:00"]

    for windows in ("25:00-26:00", "09:00-07:00", "07:00-09:00,08:00-10:00", "daily"):
        form.update(windows=windows)
        assert refused_field(await save(admin, "collection_point", form)) == "windows"
    form.update(windows="07:00-09:00", name="   ")
    assert refused_field(await save(admin, "collection_point", form)) == "name"
    assert await row(admin, "collection_point") == saved


async def test_a_changed_fixed_column_is_refused_by_name(admin: Client) -> None:
    before = await row(admin, "reward")
    for column, value in (("stock", 999), ("active", False), ("community", 2)):
        reply = await save(admin, "reward", {**before, column: value})
        assert refused_field(reply) == column
    card = await row(admin, "household")
    assert refused_field(await save(admin, "household", {**card, "card_serial": 7})) == (
        "card_serial"
    )
    assert await row(admin, "reward") == before
    assert await row(admin, "household") == card


async def test_a_reward_edit_goes_through_the_catalogue_with_its_history(admin: Client) -> None:
    form = await row(admin, "reward")
    form.update(name="垃圾袋两卷", cost_points=55)
    reply = await save(admin, "reward", form)
    assert reply.status_code == 200, reply.text
    reward = (await admin.get("/api/v1/rewards")).json()["items"][0]
    assert (reward["name"], reward["cost_points"], reward["stock"]) == ("垃圾袋两卷", 55, 50)
    changes = await history(admin)
    assert [change["change"] for change in changes] == ["created", "changed"]
    assert changes[-1]["details"] == {"name": "垃圾袋两卷", "cost_points": 55}
    assert changes[-1]["actor"] == "admin"
    again = await save(admin, "reward", form)  # a re-sent save changes nothing more
    assert again.status_code == 200
    assert len(await history(admin)) == 2


async def test_a_bad_cost_is_refused_and_changes_nothing(admin: Client) -> None:
    before = await row(admin, "reward")
    for cost in (-5, 0):
        reply = await save(admin, "reward", {**before, "name": "改名", "cost_points": cost})
        assert refused_field(reply) == "cost_points"
    for weekdays in ("1,9", "1,²"):  # "²" passes str.isdigit but int() refuses it
        reply = await save(admin, "reward", {**before, "exchange_weekdays": weekdays})
        assert refused_field(reply) == "exchange_weekdays"
    assert await row(admin, "reward") == before
    assert [change["change"] for change in await history(admin)] == ["created"]


async def test_a_name_or_address_already_used_in_the_compound_is_refused(admin: Client) -> None:
    point = await row(admin, "collection_point")
    reply = await save(admin, "collection_point", {**point, "name": "2幢西侧投放点"})
    assert refused_field(reply) == "name"
    household = await row(admin, "household")  # 1-1-101; household 2 is 2-1-102
    reply = await save(admin, "household", {**household, "building": "2", "room": "102"})
    assert refused_field(reply) == "building"
    assert await row(admin, "collection_point") == point
    assert await row(admin, "household") == household
    moved = await save(admin, "household", {**household, "room": "103"})
    assert moved.status_code == 200, moved.text


@pytest.fixture
async def shop_admin(
    fresh_db: None, settings: Settings
) -> AsyncIterator[tuple[Client, CompoundCreated, list[HouseholdCreated]]]:
    """The signed-in admin, a shop street and its two shops (made before the app starts)."""
    await seed(settings)
    registry = Services.build(settings.keyring(), settings.base_url).registry
    street = await registry.create_compound(SYSTEM, "e-2", 1, "胜利河美食街", "shop_street")
    shops = [
        await registry.create_household(
            SYSTEM, f"e-s{n}", HouseholdRequest(street.id, kind="shop", name=name)
        )
        for n, name in enumerate(("胜利河面馆", "运河茶馆"))
    ]
    async with AsyncTestClient(app=create_app(settings)) as client:
        await sign_in_page(client, "admin")
        yield client, street, shops


async def test_a_shop_s_name_is_edited_and_its_kind_and_empty_address_stay(
    shop_admin: tuple[Client, CompoundCreated, list[HouseholdCreated]],
) -> None:
    admin, street, shops = shop_admin
    form = await row(admin, "household", shops[0].id)
    reply = await save(admin, "household", {**form, "name": " 老胜利河面馆 "}, shops[0].id)
    assert reply.status_code == 200, reply.text
    saved = await row(admin, "household", shops[0].id)
    assert (saved["name"], saved["kind"], saved["building"]) == ("老胜利河面馆", "shop", "")
    for column, value in (
        ("name", "   "),
        ("name", "运河茶馆"),
        ("building", "1"),
        ("kind", "household"),
    ):
        reply = await save(admin, "household", {**saved, column: value}, shops[0].id)
        assert refused_field(reply) == column
    assert await row(admin, "household", shops[0].id) == saved
    compound = await row(admin, "compound", street.id)
    reply = await save(admin, "compound", {**compound, "kind": "residential"}, street.id)
    assert refused_field(reply) == "kind"
    household = await row(admin, "household")  # a flat keeps an empty name
    assert refused_field(await save(admin, "household", {**household, "name": "王家"})) == "name"
