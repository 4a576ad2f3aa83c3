"""Short codes in the database (both engines): a collision is re-drawn inside the same
transaction, bulk loads and the migration's back-fill give every card a unique code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.domain.short_codes import code_from, is_valid
from ledger.services.bulk_load import load_csv
from ledger.services.container import Services
from ledger.store import short_codes
from ledger.store.tables import CollectionPoint, DutyPost, Household, ShortCode
from tests.factories import SYSTEM, event_id, make_world

TABLES = {"household": Household, "point": CollectionPoint, "post": DutyPost}


async def current_codes() -> dict[tuple[str, int], str]:
    """Every row's current short code, by (kind, id); asserts each row has exactly one."""
    found: dict[tuple[str, int], str] = {}
    for kind, table in TABLES.items():
        rows = await table.select(table.id, table.card_serial)
        codes = await short_codes.current(kind, [(row["id"], row["card_serial"]) for row in rows])
        assert set(codes) == {row["id"] for row in rows}, kind
        found |= {(kind, subject_id): code for subject_id, code in codes.items()}
    return found


async def test_a_drawn_code_already_taken_is_drawn_again_in_the_same_transaction(
    services: Services,
) -> None:
    world = await make_world(services)
    (taken,) = [
        row["code"]
        for row in await ShortCode.select(ShortCode.code).where(ShortCode.kind == "household")
    ]
    fresh = code_from(123_456_789)
    draws: Iterator[str] = iter([taken, fresh])
    async with services.db.write():
        issued = await short_codes.issue(
            "household", [(world.household_id, 2)], lambda: next(draws)
        )
        # The transaction is still usable after the skipped collision (PostgreSQL would abort
        # one whose statement failed).
        assert await Household.count() == 1
    assert issued == {(world.household_id, 2): fresh}
    assert await ShortCode.count().where(ShortCode.code == taken) == 1


async def test_more_rows_than_batches_times_rounds_all_get_codes(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's 10,000 households once ran out: every batch of 500 counted as a retry round,
    so exactly BATCH x ROUNDS_MAX rows raised. Only rounds that issue nothing may run out."""
    monkeypatch.setattr(short_codes, "BATCH", 2)
    monkeypatch.setattr(short_codes, "ROUNDS_MAX", 3)
    world = await make_world(services)
    subjects = [(world.household_id, serial) for serial in range(2, 2 + 2 * 3 + 5)]
    drawn = iter(range(1, 10_000))
    async with services.db.write():
        issued = await short_codes.issue("household", subjects, lambda: code_from(next(drawn)))
    assert set(issued) == set(subjects)


async def test_bulk_loaded_rows_and_points_and_posts_get_unique_codes(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    await services.registry.create_point(SYSTEM, event_id(), world.compound_id, "东门", [])
    await services.registry.create_post(SYSTEM, event_id(), world.compound_id, "南门")
    path = tmp_path / "households.csv"
    rooms = range(101, 131)
    path.write_text(
        "compound_id,building,unit,room\n"
        + "".join(f"{world.compound_id},7,1,{room}\n" for room in rooms)
    )
    assert await load_csv(services, "households", path) == len(rooms)
    codes = await current_codes()
    assert len(codes) == 1 + len(rooms) + 2
    assert len(set(codes.values())) == len(codes)
    assert all(is_valid(code) for code in codes.values())
