"""Rules for the registry: addresses, opening windows, labels."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from ledger.domain.errors import InvalidInput

NAME_LENGTH_MAX = 100
ADDRESS_PART_LENGTH_MAX = 20
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
