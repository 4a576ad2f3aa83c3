"""Bulk loads from CSV: every row or none, with each bad row named by its line (both engines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.services.bulk_load import BulkLoadRejected, Problem, load_csv
from ledger.services.container import Services
from ledger.store.tables import Account, CollectionPoint, DutyPost, Household
from tests.factories import SYSTEM, event_id, make_world

HOUSEHOLDS_HEADER = "compound_id,building,unit,room"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def write_csv(folder: Path, lines: list[str], *, prefix: str = "", newline: str = "\n") -> Path:
    path = folder / "load.csv"
    path.write_bytes((prefix + newline.join(lines) + newline).encode("utf-8"))
    return path


async def rejected(services: Services, kind: str, path: Path) -> list[Problem]:
    with pytest.raises(BulkLoadRejected) as caught:
        await load_csv(services, kind, path)
    return caught.value.problems


async def test_a_good_households_file_loads_every_row_with_its_own_account(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    path = write_csv(
        tmp_path,
        [HOUSEHOLDS_HEADER]
        + [f"{world.compound_id},5,{unit},{room}" for unit in (1, 2) for room in (101, 102, 201)],
    )
    assert await load_csv(services, "households", path) == 6
    rows = await Household.select().where(Household.building == "5").order_by(Household.id)
    assert [(row["unit"], row["room"]) for row in rows] == [
        ("1", "101"),
        ("1", "102"),
        ("1", "201"),
        ("2", "101"),
        ("2", "102"),
        ("2", "201"),
    ]
    accounts = await Account.select().where(Account.id.is_in([row["account"] for row in rows]))
    assert {(a["kind"], a["community"], a["balance_points"]) for a in accounts} == {
        ("household", world.community_id, 0)
    }
    assert len(accounts) == 6
    assert (await services.verifier.verify()).ok


async def test_points_and_posts_files_load_with_their_windows(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    points = write_csv(
        tmp_path,
        [
            "compound_id,name,windows",
            f"{world.compound_id},3幢东侧投放点,07:00-09:00;18:00-20:00",
            f"{world.compound_id},西门垃圾房投放点,",
            f'{world.compound_id},"南门投放点","18:00-20:00 ; 07:00-09:00"',
        ],
    )
    assert await load_csv(services, "points", points) == 3
    rows = await CollectionPoint.select(CollectionPoint.name, CollectionPoint.windows).order_by(
        CollectionPoint.id
    )
    assert [(row["name"], row["windows"]) for row in rows] == [
        ("3幢东侧投放点", "07:00-09:00,18:00-20:00"),
        ("西门垃圾房投放点", ""),
        ("南门投放点", "07:00-09:00,18:00-20:00"),
    ]
    posts = write_csv(tmp_path, ["compound_id,name", f"{world.compound_id},东门志愿服务岗"])
    assert await load_csv(services, "posts", posts) == 1
    assert await DutyPost.count() == 1


async def test_a_file_with_bad_rows_loads_nothing_and_names_each_line(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    compound = world.compound_id
    path = write_csv(
        tmp_path,
        [
            HOUSEHOLDS_HEADER,
            f"{compound},1,1,101",  # 2: good
            f"{compound}, ,1,102",  # 3: empty building
            "999,1,1,103",  # 4: unknown compound
            f"{compound},1,1,101",  # 5: repeats line 2
            "abc,1,1,104",  # 6: not a compound id
            f"{compound},1,1,{'9' * 21}",  # 7: room too long
            "",  # 8: blank lines are skipped, not counted as rows
            f"{compound},1,1,105",  # 9: good
            f"{compound},1,,",  # 10: two empty fields, both named
        ],
    )
    problems = await rejected(services, "households", path)
    found = [(problem.line, problem.message.split(":")[0]) for problem in problems]
    assert found == [
        (3, "building"),
        (4, "compound_id"),
        (5, "repeats line 2 of this file"),
        (6, "compound_id"),
        (7, "room"),
        (10, "unit"),
        (10, "room"),
    ]
    assert problems[1].message == "compound_id: compound 999 not found"
    assert await Household.count() == 1  # only make_world's


async def test_reloading_the_same_file_is_refused_row_by_row_as_duplicates(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    rows = [f"{world.compound_id},7,1,{room}" for room in (101, 102, 201)]
    path = write_csv(tmp_path, [HOUSEHOLDS_HEADER, *rows])
    assert await load_csv(services, "households", path) == 3
    problems = await rejected(services, "households", path)
    assert [problem.line for problem in problems] == [2, 3, 4]
    assert problems[0].message == f"7/1/101 is already registered in compound {world.compound_id}"
    assert await Household.count() == 4


async def test_a_point_already_in_the_compound_is_refused(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    path = write_csv(tmp_path, ["compound_id,name,windows", f"{world.compound_id},北门投放点,"])
    await load_csv(services, "points", path)
    problems = await rejected(services, "points", path)
    assert problems == [
        Problem(2, f"北门投放点 is already registered in compound {world.compound_id}")
    ]


async def test_a_byte_order_mark_and_windows_line_ends_are_tolerated(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    lines = [HOUSEHOLDS_HEADER, f"{world.compound_id},8,2,301", f"{world.compound_id},8,2,302"]
    path = write_csv(tmp_path, lines, prefix="\ufeff", newline="\r\n")
    assert await load_csv(services, "households", path) == 2


async def test_a_wrong_header_is_refused_on_line_1(services: Services, tmp_path: Path) -> None:
    world = await make_world(services)
    path = write_csv(tmp_path, ["compound,building,unit,room", f"{world.compound_id},1,1,101"])
    problems = await rejected(services, "households", path)
    assert [problem.line for problem in problems] == [1]
    assert HOUSEHOLDS_HEADER in problems[0].message


async def test_rows_with_the_wrong_number_of_fields_are_named(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    path = write_csv(
        tmp_path,
        [HOUSEHOLDS_HEADER, f"{world.compound_id},1,1", f"{world.compound_id},1,1,101,extra"],
    )
    problems = await rejected(services, "households", path)
    assert problems == [
        Problem(2, "expected 4 fields, found 3"),
        Problem(3, "expected 4 fields, found 5"),
    ]


async def test_a_file_saved_as_gbk_is_refused_with_its_line(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    path = tmp_path / "gbk.csv"
    text = f"compound_id,name,windows\n{world.compound_id},东门投放点,\n"
    path.write_bytes(text.encode("gbk"))
    problems = await rejected(services, "points", path)
    assert [problem.line for problem in problems] == [2]
    assert "UTF-8" in problems[0].message


async def test_a_missing_file_is_refused_as_a_whole(services: Services, tmp_path: Path) -> None:
    problems = await rejected(services, "posts", tmp_path / "nowhere.csv")
    assert [problem.line for problem in problems] == [0]


async def test_the_example_files_load(services: Services) -> None:
    world = await make_world(services)
    await services.registry.create_compound(SYSTEM, event_id(), world.community_id, "香蓝名院")
    assert await load_csv(services, "households", EXAMPLES / "households.csv") > 0
    assert await load_csv(services, "points", EXAMPLES / "points.csv") > 0
    street = await services.registry.create_compound(
        SYSTEM, event_id(), world.community_id, "胜利河美食街", "shop_street"
    )
    assert street.id == 3
    assert await load_csv(services, "shops", EXAMPLES / "shops.csv") == 3


async def test_every_bad_row_is_named_even_beside_a_row_with_a_missing_comma(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    path = write_csv(
        tmp_path,
        [HOUSEHOLDS_HEADER, f"{world.compound_id},1,1", ",,,", f"{world.compound_id},1,1,"],
    )
    problems = await rejected(services, "households", path)
    assert problems == [
        Problem(2, "expected 4 fields, found 3"),
        Problem(4, "room: must be 1-20 characters, no commas"),
    ]
