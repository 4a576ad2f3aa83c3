"""piccolo-admin speaks the page's language: column titles, table names, named foreign keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.api.pages_helpers import seed, sign_in_page

Client = AsyncTestClient[Any]


@pytest.fixture
async def admin(fresh_db: None, settings: Settings) -> AsyncIterator[Client]:
    await seed(settings)
    async with AsyncTestClient(app=create_app(settings)) as client:
        await sign_in_page(client, "admin")
        yield client


async def test_columns_and_tables_are_titled_in_chinese(admin: Client) -> None:
    schema = (await admin.get("/admin/api/tables/household/schema/")).json()
    titles = {name: field["title"] for name, field in schema["properties"].items()}
    assert titles["building"] == "楼栋"
    assert titles["compound"] == "小区"
    assert titles["created_at"] == "创建时间"
    assert schema["extra"]["help_text"] == "住户"


async def test_columns_are_titled_in_english_when_asked(admin: Client) -> None:
    admin.cookies.set("lang", "en")
    schema = (await admin.get("/admin/api/tables/collection_point/schema/")).json()
    assert schema["properties"]["windows"]["title"] == "Opening hours"
    assert schema["extra"]["help_text"] == "Collection points"


async def test_every_column_of_every_table_has_a_title(admin: Client) -> None:
    tables = (await admin.get("/admin/api/tables/")).json()
    untitled = []
    for table in tables:
        schema = (await admin.get(f"/admin/api/tables/{table}/schema/")).json()
        untitled += [
            f"{table}.{name}"
            for name, field in schema["properties"].items()
            if not any("\u4e00" <= ch <= "\u9fff" for ch in field["title"])
        ]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in schema["extra"]["help_text"]), table
    assert untitled == []


async def test_a_compound_is_shown_by_its_name_not_its_number(admin: Client) -> None:
    rows = (await admin.get("/admin/api/tables/household/?__readable=true")).json()["rows"]
    assert {row["compound_readable"] for row in rows} == {"信义坊"}
    points = (await admin.get("/admin/api/tables/collection_point/?__readable=true")).json()
    assert points["rows"][0]["compound_readable"] == "信义坊"
