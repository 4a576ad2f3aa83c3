"""Earning rules: data, per community, versioned. Defaults are DESIGN.md's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from ledger.domain.errors import InvalidInput
from ledger.domain.registry import HouseholdKind


class Grade(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


class Stream(StrEnum):
    KITCHEN = "kitchen"
    RECYCLABLE = "recyclable"
    HAZARDOUS = "hazardous"
    OTHER = "other"


class Material(StrEnum):
    PAPER = "paper"
    PLASTIC = "plastic"
    METAL = "metal"
    GLASS = "glass"
    TEXTILE = "textile"


POINTS_RULE_MAX = 10_000
# The kinds of unit that may have grading values of their own; households use the plain keys.
KINDS_WITH_OWN_VALUES = (HouseholdKind.SHOP.value, HouseholdKind.OFFICE.value)
# The shortest time after which any community's rules close a shift left open.
SHIFT_AUTO_CLOSE_MINUTES_MIN = 60


@dataclass(frozen=True, slots=True)
class EarningRules:
    """Every number a community may change. Entries record the version that produced them."""

    grade_points: Mapping[str, int] = field(
        default_factory=lambda: {"good": 10, "fair": 5, "poor": 0}
    )
    grading_daily_cap_points: int = 30
    dropoff_points: int = 0
    weighin_points_per_kg: Mapping[str, int] = field(
        default_factory=lambda: {
            "paper": 100,
            "plastic": 100,
            "metal": 100,
            "textile": 10,
            "glass": 5,
        }
    )
    weighin_grams_max: int = 30_000
    weighin_daily_cap_points: int = 300
    shift_points_per_hour: int = 10
    shift_minutes_unit: int = 15
    shift_daily_minutes_max: int = 8 * 60
    shift_auto_close_minutes: int = 12 * 60
    backfill_points_per_hour: int = 0
    appeal_days: int = 7
    # How far a scan's capture time (`captured_at`) may lie from the server's time: staff
    # (inspectors, clerks) sync after long offline rounds; residents' and volunteers' own
    # claims would otherwise invent hours or dodge opening windows.
    captured_at_staff_max_age_minutes: int = 72 * 60
    captured_at_public_max_age_minutes: int = 10
    captured_at_future_max_minutes: int = 5
    # Shops and offices graded with values of their own (a restaurant's kitchen waste is not
    # a flat's): {"shop": {"good": 20, "fair": 10, "poor": 0}}. A kind not given here is
    # graded with `grade_points` and `grading_daily_cap_points`, as households are.
    grade_points_by_kind: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    grading_daily_cap_points_by_kind: Mapping[str, int] = field(default_factory=dict)

    def grade_points_for(self, kind: str) -> Mapping[str, int]:
        """The points per grade for a unit of this kind (household, shop, office)."""
        return self.grade_points_by_kind.get(kind, self.grade_points)

    def grading_daily_cap_for(self, kind: str) -> int:
        """The grading points a unit of this kind may earn in a local day."""
        return self.grading_daily_cap_points_by_kind.get(kind, self.grading_daily_cap_points)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["grade_points"] = dict(self.grade_points)
        data["weighin_points_per_kg"] = dict(self.weighin_points_per_kg)
        data["grade_points_by_kind"] = {
            kind: dict(points) for kind, points in self.grade_points_by_kind.items()
        }
        data["grading_daily_cap_points_by_kind"] = dict(self.grading_daily_cap_points_by_kind)
        return data


DEFAULT_RULES = EarningRules()
_BOUNDS: dict[str, tuple[int, int]] = {
    "grading_daily_cap_points": (0, POINTS_RULE_MAX),
    "dropoff_points": (0, POINTS_RULE_MAX),
    "weighin_grams_max": (1, 1_000_000),
    "weighin_daily_cap_points": (0, POINTS_RULE_MAX),
    "shift_points_per_hour": (0, POINTS_RULE_MAX),
    "shift_minutes_unit": (1, 60),
    "shift_daily_minutes_max": (15, 24 * 60),
    "shift_auto_close_minutes": (SHIFT_AUTO_CLOSE_MINUTES_MIN, 24 * 60),
    "backfill_points_per_hour": (0, POINTS_RULE_MAX),
    "appeal_days": (0, 90),
    "captured_at_staff_max_age_minutes": (0, 30 * 24 * 60),
    "captured_at_public_max_age_minutes": (0, 24 * 60),
    "captured_at_future_max_minutes": (0, 60),
}


def parse_rules(data: Mapping[str, Any]) -> EarningRules:
    """Validate a rules document: unknown keys, missing grades or materials, bad numbers are
    refused with the field named (`rules.grade_points.good`). Omitted keys keep the default."""
    unknown = set(data) - set(DEFAULT_RULES.to_json())
    if unknown:
        raise InvalidInput(f"rules.{sorted(unknown)[0]}", "is not a rule")
    values: dict[str, Any] = {}
    for name, (low, high) in _BOUNDS.items():
        if name in data:
            values[name] = _bounded(data[name], low, high, f"rules.{name}")
    if "grade_points" in data:
        values["grade_points"] = _table(data["grade_points"], Grade, "rules.grade_points")
    if "weighin_points_per_kg" in data:
        values["weighin_points_per_kg"] = _table(
            data["weighin_points_per_kg"], Material, "rules.weighin_points_per_kg"
        )
    if "grade_points_by_kind" in data:
        field_name = "rules.grade_points_by_kind"
        values["grade_points_by_kind"] = {
            kind: _table(table, Grade, f"{field_name}.{kind}")
            for kind, table in _by_kind(data["grade_points_by_kind"], field_name).items()
        }
    if "grading_daily_cap_points_by_kind" in data:
        field_name = "rules.grading_daily_cap_points_by_kind"
        values["grading_daily_cap_points_by_kind"] = {
            kind: _bounded(cap, 0, POINTS_RULE_MAX, f"{field_name}.{kind}")
            for kind, cap in _by_kind(data["grading_daily_cap_points_by_kind"], field_name).items()
        }
    rules = EarningRules(**values)
    if rules.shift_daily_minutes_max % rules.shift_minutes_unit:
        raise InvalidInput(
            "rules.shift_daily_minutes_max", "must be a multiple of shift_minutes_unit"
        )
    return rules


def _by_kind(value: Any, field_name: str) -> dict[str, Any]:
    """Values keyed by a kind of unit that may have its own (households use the plain key)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(field_name, "must be an object")
    for kind in sorted(set(value) - set(KINDS_WITH_OWN_VALUES)):
        raise InvalidInput(
            f"{field_name}.{kind}",
            f"is not a kind of unit with its own values {KINDS_WITH_OWN_VALUES}",
        )
    return {kind: value[kind] for kind in sorted(value)}


def _table(value: Any, keys: type[StrEnum], field_name: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise InvalidInput(field_name, "must be an object")
    expected = {member.value for member in keys}
    for key in set(value) - expected:
        raise InvalidInput(f"{field_name}.{key}", "is not known")
    for key in sorted(expected - set(value)):
        raise InvalidInput(f"{field_name}.{key}", "is missing")
    return {
        key: _bounded(value[key], 0, POINTS_RULE_MAX, f"{field_name}.{key}")
        for key in sorted(value)
    }


def _bounded(value: Any, low: int, high: int, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(field_name, f"must be a whole number from {low} to {high}")
    return value
