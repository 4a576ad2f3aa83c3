"""Shops and offices in the domain: which unit fits which compound, what a unit is called,
and the rules' per-kind grading values (issue 15, item 4)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger.domain.earning import award_for_grade
from ledger.domain.errors import InvalidInput
from ledger.domain.leaderboard import Keys, points_ops
from ledger.domain.registry import (
    CompoundKind,
    HouseholdKind,
    check_kind,
    check_unit,
    check_unit_fits,
    public_unit_label,
    unit_label,
)
from ledger.domain.rules import DEFAULT_RULES, Grade, parse_rules

SHOP_RULES = {
    "grade_points_by_kind": {"shop": {"good": 20, "fair": 8, "poor": 1}},
    "grading_daily_cap_points_by_kind": {"shop": 50, "office": 12},
}


def test_each_kind_of_compound_holds_its_kind_of_unit_only() -> None:
    fits = {
        (CompoundKind.RESIDENTIAL, HouseholdKind.HOUSEHOLD),
        (CompoundKind.SHOP_STREET, HouseholdKind.SHOP),
        (CompoundKind.OFFICE_BUILDING, HouseholdKind.OFFICE),
    }
    for compound in CompoundKind:
        for unit in HouseholdKind:
            if (compound, unit) in fits:
                check_unit_fits(compound.value, unit)
                continue
            with pytest.raises(InvalidInput) as refused:
                check_unit_fits(compound.value, unit)
            assert refused.value.extra["field"] == "kind"


def test_a_household_has_an_address_and_a_shop_a_name() -> None:
    assert check_unit(HouseholdKind.HOUSEHOLD, " 3 ", "2", "301") == {
        "building": "3",
        "unit": "2",
        "room": "301",
        "name": "",
    }
    assert check_unit(HouseholdKind.SHOP, name=" 胜利河面馆 ") == {
        "building": "",
        "unit": "",
        "room": "",
        "name": "胜利河面馆",
    }


@pytest.mark.parametrize(
    ("kind", "parts", "field"),
    [
        (HouseholdKind.HOUSEHOLD, {"building": "3", "unit": "2"}, "room"),
        (
            HouseholdKind.HOUSEHOLD,
            {"building": "3", "unit": "2", "room": "1", "name": "王"},
            "name",
        ),
        (HouseholdKind.SHOP, {}, "name"),
        (HouseholdKind.SHOP, {"name": "x" * 101}, "name"),
        (HouseholdKind.OFFICE, {"name": "律所", "building": "5"}, "building"),
    ],
)
def test_a_unit_without_its_parts_is_refused_naming_the_field(
    kind: HouseholdKind, parts: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_unit(kind, **parts)
    assert refused.value.extra["field"] == field


def test_a_kind_is_named_by_its_value() -> None:
    assert check_kind(CompoundKind, "shop_street") is CompoundKind.SHOP_STREET
    with pytest.raises(InvalidInput) as refused:
        check_kind(HouseholdKind, "restaurant")
    assert refused.value.extra["field"] == "kind"


def test_boards_show_a_shop_s_name_and_a_household_s_masked_address() -> None:
    assert public_unit_label("shop", "", "", "", "胜利河面馆") == "胜利河面馆"
    assert public_unit_label("household", "3", "2", "301", "") == "3幢2单元***室"
    assert unit_label("office", "", "", "", "湖墅律师事务所") == "湖墅律师事务所"
    assert unit_label("household", "3", "2", "301", "") == "3幢2单元301室"


def test_a_unit_without_a_building_is_on_no_buildings_board() -> None:
    keys = Keys("gl", 1)
    shop = points_ops(keys, 1, date(2026, 12, 6), 7, 42, "", 20)
    flat = points_ops(keys, 2, date(2026, 12, 6), 7, 43, "3", 10)
    assert not [op for op in shop if ":bld:" in op.key]
    assert {op.key for op in flat} > {op.key for op in shop}
    assert len(shop) * 2 == len(flat)


def test_per_kind_rules_default_to_the_household_values() -> None:
    assert DEFAULT_RULES.grade_points_by_kind == {}
    assert DEFAULT_RULES.grading_daily_cap_points_by_kind == {}
    for kind in HouseholdKind:
        assert DEFAULT_RULES.grade_points_for(kind) == DEFAULT_RULES.grade_points
        assert DEFAULT_RULES.grading_daily_cap_for(kind) == 30
    assert parse_rules({}) == DEFAULT_RULES


def test_per_kind_rules_are_read_and_written_back_whole() -> None:
    rules = parse_rules(SHOP_RULES)
    assert rules.grade_points_for("shop") == {"good": 20, "fair": 8, "poor": 1}
    assert rules.grade_points_for("office") == rules.grade_points
    assert rules.grading_daily_cap_for("office") == 12
    assert rules.grading_daily_cap_for("household") == 30
    assert parse_rules(rules.to_json()) == rules
    assert rules.to_json()["grade_points_by_kind"] == SHOP_RULES["grade_points_by_kind"]


def test_a_grade_earns_its_unit_kind_s_points_within_its_kind_s_cap() -> None:
    rules = parse_rules(SHOP_RULES)

    def points(kind: str, grade: Grade, today: int) -> int:
        award = award_for_grade(grade, rules, already_scored=False, points_today=today, kind=kind)
        return award.points

    assert points("shop", Grade.GOOD, 0) == 20
    assert points("shop", Grade.FAIR, 0) == 8
    assert points("shop", Grade.GOOD, 40) == 10  # cap 50
    assert points("household", Grade.GOOD, 0) == 10
    assert points("household", Grade.GOOD, 25) == 5  # cap 30
    assert points("office", Grade.GOOD, 5) == 7  # household points, its own cap 12
    assert award_for_grade(Grade.GOOD, rules, already_scored=False, points_today=0).points == 10


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"grade_points_by_kind": "shop"}, "rules.grade_points_by_kind"),
        (
            {"grade_points_by_kind": {"household": {"good": 1, "fair": 1, "poor": 0}}},
            "rules.grade_points_by_kind.household",
        ),
        ({"grade_points_by_kind": {"shop": {"good": 20}}}, "rules.grade_points_by_kind.shop.fair"),
        (
            {"grade_points_by_kind": {"shop": {"good": 20, "fair": 8, "poor": 0, "great": 30}}},
            "rules.grade_points_by_kind.shop.great",
        ),
        (
            {"grade_points_by_kind": {"office": {"good": True, "fair": 8, "poor": 0}}},
            "rules.grade_points_by_kind.office.good",
        ),
        ({"grading_daily_cap_points_by_kind": [50]}, "rules.grading_daily_cap_points_by_kind"),
        (
            {"grading_daily_cap_points_by_kind": {"shop": -1}},
            "rules.grading_daily_cap_points_by_kind.shop",
        ),
        (
            {"grading_daily_cap_points_by_kind": {"school": 50}},
            "rules.grading_daily_cap_points_by_kind.school",
        ),
    ],
)
def test_bad_per_kind_rules_are_refused_naming_the_field(
    document: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_rules(document)
    assert refused.value.extra["field"] == field
