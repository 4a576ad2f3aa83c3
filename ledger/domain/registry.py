"""Rules for the registry: addresses, opening windows, labels."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import TypeVar

from ledger.domain.errors import InvalidInput

NAME_LENGTH_MAX = 100
ADDRESS_PART_LENGTH_MAX = 20
K = TypeVar("K", bound=StrEnum)
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """An opening window of a collection point, in local minutes since midnight."""

    start_minute: int
    end_minute: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"

    def contains(self, minute_of_day: int) -> bool:
        return self.start_minute <= minute_of_day < self.end_minute


def parse_windows(texts: list[str], field: str = "windows") -> tuple[Window, ...]:
    """Parse "07:00-09:00" windows; they must be non-empty and must not overlap."""
    windows = sorted(_parse_window(text, field) for text in texts)
    for earlier, later in pairwise(windows):
        if later.start_minute < earlier.end_minute:
            raise InvalidInput(field, f"windows {earlier} and {later} overlap")
    return tuple(windows)


@dataclass(frozen=True, slots=True)
class Opening:
    """When a closed point opens next: at `start` (HH:MM, local), today or tomorrow."""

    start: str
    tomorrow: bool


def next_opening(windows: tuple[Window, ...], minute_of_day: int) -> Opening | None:
    """None while a window is open (or when the point has no windows: open all day); else
    the next window's start, today's if one is left, tomorrow's first otherwise."""
    if not windows or any(window.contains(minute_of_day) for window in windows):
        return None
    later = [window for window in windows if window.start_minute > minute_of_day]
    if later:
        return Opening(_hhmm(later[0].start_minute), tomorrow=False)
    return Opening(_hhmm(windows[0].start_minute), tomorrow=True)


def check_name(value: str, field: str = "name") -> str:
    """Names are trimmed, non-empty and at most NAME_LENGTH_MAX characters."""
    name = value.strip()
    if not name or len(name) > NAME_LENGTH_MAX:
        raise InvalidInput(field, f"must be 1-{NAME_LENGTH_MAX} characters")
    return name


def check_address_part(value: str, field: str) -> str:
    """Building, unit and room are short non-empty texts such as "3", "2", "301"."""
    part = value.strip()
    if not part or len(part) > ADDRESS_PART_LENGTH_MAX or any(ch in part for ch in ",\n\r\t"):
        raise InvalidInput(field, f"must be 1-{ADDRESS_PART_LENGTH_MAX} characters, no commas")
    return part


class CompoundKind(StrEnum):
    """What a compound is: flats, a street of shops, or an office building."""

    RESIDENTIAL = "residential"
    SHOP_STREET = "shop_street"
    OFFICE_BUILDING = "office_building"


class HouseholdKind(StrEnum):
    """What holds a green account in a compound: a household, a shop or an office (one table,
    one kind of account and card; docs/decisions/2026-12-06-shops-and-offices.md)."""

    HOUSEHOLD = "household"
    SHOP = "shop"
    OFFICE = "office"


# Each kind of compound holds one kind of unit: households live in residential compounds,
# shops on shop streets, offices in office buildings.
UNIT_KIND_OF = {
    CompoundKind.RESIDENTIAL: HouseholdKind.HOUSEHOLD,
    CompoundKind.SHOP_STREET: HouseholdKind.SHOP,
    CompoundKind.OFFICE_BUILDING: HouseholdKind.OFFICE,
}


def check_kind(kinds: type[K], value: str, field: str = "kind") -> K:
    """A kind named by its value (`shop_street`, `office`), or InvalidInput naming `field`."""
    try:
        return kinds(value)
    except ValueError:
        known = ", ".join(kind.value for kind in kinds)
        raise InvalidInput(field, f"must be one of {known}") from None


def check_unit_fits(compound_kind: str, kind: HouseholdKind) -> None:
    """A unit only in a compound of the matching kind (a shop only on a shop street, …)."""
    expected = UNIT_KIND_OF[CompoundKind(compound_kind)]
    if kind is not expected:
        raise InvalidInput(
            "kind", f"compound kind {compound_kind} holds units of kind {expected.value} only"
        )


def check_unit(
    kind: HouseholdKind,
    building: str | None = None,
    unit: str | None = None,
    room: str | None = None,
    name: str | None = None,
) -> dict[str, str]:
    """A household has an address (building, unit, room) and no name; a shop or an office has
    a name and no address. The stored columns: the absent ones are empty."""
    if kind is HouseholdKind.HOUSEHOLD:
        if name:
            raise InvalidInput("name", "a household has an address, not a name")
        return {
            "building": check_address_part(building or "", "building"),
            "unit": check_address_part(unit or "", "unit"),
            "room": check_address_part(room or "", "room"),
            "name": "",
        }
    for field, value in (("building", building), ("unit", unit), ("room", room)):
        if value:
            raise InvalidInput(field, f"a {kind.value} has a name, not an address")
    return {"building": "", "unit": "", "room": "", "name": check_name(name or "", "name")}


def unit_label(kind: str, building: str, unit: str, room: str, name: str) -> str:
    """The full label as printed on the unit's own card: an address, or a shop's name."""
    if kind == HouseholdKind.HOUSEHOLD:
        return household_label(building, unit, room)
    return name


def public_unit_label(kind: str, building: str, unit: str, room: str, name: str) -> str:
    """What public boards show: a household's masked address, or a shop's or office's name
    (a business's name is public; a household's room is not)."""
    if kind == HouseholdKind.HOUSEHOLD:
        return public_household_label(building, unit, room)
    return name


def household_label(building: str, unit: str, room: str) -> str:
    """The full address as printed on the household's own card: 3幢2单元301室."""
    return f"{building}幢{unit}单元{room}室"


def public_household_label(building: str, unit: str, room: str) -> str:
    """What public boards show: building and unit, the room masked."""
    return f"{building}幢{unit}单元{'*' * max(len(room), 1)}室"


def _parse_window(text: str, field: str) -> Window:
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(field, f"{text!r} is not HH:MM-HH:MM")
    hour_start, minute_start, hour_end, minute_end = (int(group) for group in match.groups())
    start, end = hour_start * 60 + minute_start, hour_end * 60 + minute_end
    if end > 24 * 60 or end <= start:
        raise InvalidInput(field, f"{text!r} must end after it starts, by 24:00")
    return Window(start, end)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
