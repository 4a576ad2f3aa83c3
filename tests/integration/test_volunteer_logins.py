"""A volunteer login always names its volunteer record: `greenledger user add` refuses one
without (issue 15, item 3; before, it was made and then refused at every check-in)."""

from __future__ import annotations

import asyncio

import pytest
from piccolo.engine.sqlite import SQLiteEngine

from api.cli import main
from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from ledger.store.engine import current_engine
from ledger.store.tables import AppUser
from tests.conftest import DATABASE_URL
from tests.factories import TEST_SECRET_KEY, make_world


async def test_user_add_refuses_a_volunteer_without_a_record(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = await make_world(services)
    volunteer = await services.registry.create_volunteer(
        SYSTEM,
        "v-1",
        world.community_id,
        "王建国",
    )
    engine = current_engine()
    url = engine.path if isinstance(engine, SQLiteEngine) else DATABASE_URL
    monkeypatch.setenv("GREENLEDGER_DATABASE_URL", url)
    monkeypatch.setenv("GREENLEDGER_SECRET_KEY", TEST_SECRET_KEY)
    await services.db.close()
    password = ["--password", "volunteer-pass-2026"]
    try:
        refused = await asyncio.to_thread(
            main, ["user", "add", "lonely", "--role", "volunteer", *password]
        )
        refusal = capsys.readouterr().err
        made = await asyncio.to_thread(
            main,
            [
                "user",
                "add",
                "wang",
                "--role",
                "volunteer",
                "--volunteer",
                str(volunteer.id),
                *password,
            ],
        )
    finally:
        await services.db.start()
    assert refused == 1
    assert "validation_error" in refusal
    assert "volunteer_id" in refusal
    assert made == 0
    names = {row["username"] for row in await AppUser.select(AppUser.username)}
    assert "lonely" not in names
    assert "wang" in names
