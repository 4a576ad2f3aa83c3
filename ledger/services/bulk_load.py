"""Load households, shops, offices, collection points or duty posts from a CSV file: every
row, or none. Shops and offices are loaded by name (`compound_id,name`), each into a compound
of its kind (a shop street, an office building), as households only into residential ones.

Every row is checked before anything is written, and all problems are reported together by
line number (the header is line 1), so that a clerk fixes the spreadsheet once rather than
once per bad row. The checks against the database run inside the write transaction that
loads the rows, so nothing another writer adds meanwhile can slip between check and load.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ledger.domain.errors import InvalidInput
from ledger.domain.registry import (
    HouseholdKind,
    check_address_part,
    check_name,
    check_unit_fits,
    parse_windows,
)
from ledger.services.container import Services
from ledger.store import bulk as store

KINDS: dict[str, tuple[str, ...]] = {
    "households": ("compound_id", "building", "unit", "room"),
    "shops": ("compound_id", "name"),
    "offices": ("compound_id", "name"),
    "points": ("compound_id", "name", "windows"),
    "posts": ("compound_id", "name"),
}
# What makes a row the same as another in its compound.
_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "households": ("building", "unit", "room"),
    "shops": ("name",),
    "offices": ("name",),
    "points": ("name",),
    "posts": ("name",),
}
# The kind of unit each load makes, in the compounds of the matching kind only.
_UNIT_KINDS = {
    "households": HouseholdKind.HOUSEHOLD,
    "shops": HouseholdKind.SHOP,
    "offices": HouseholdKind.OFFICE,
}
# People type windows in spreadsheets with either semicolon; "07:00-09:00;18:00-20:00".
_WINDOW_SEPARATORS = (";", "；")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a file was refused; line 0 means the file as a whole."""

    line: int
    message: str


class BulkLoadRejected(Exception):
    """A file loads whole or not at all: nothing was written, because of these problems."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s), first on line {problems[0].line}")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    compound_id: int
    values: dict[str, str]

    def key(self, kind: str) -> tuple[Any, ...]:
        return (self.compound_id, *(self.values[name] for name in _KEY_COLUMNS[kind]))


async def load_csv(services: Services, kind: str, file: Path) -> int:
    """Check every row, then load them all in one transaction; returns how many were loaded."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    records, problems = _records(await asyncio.to_thread(_read_text, file), KINDS[kind])
    rows, row_problems = _parse_rows(kind, records)
    problems += row_problems
    async with services.db.write():
        problems += await _check_database(kind, rows)
        if problems:
            raise BulkLoadRejected(sorted(problems, key=lambda problem: problem.line))
        await _load(kind, rows, services.clock.now())
        await services.codes.issue_missing()  # every new card gets its typed code too
    return len(rows)


def _read_text(file: Path) -> str:
    try:
        data = file.read_bytes()
    except OSError as error:
        raise BulkLoadRejected([Problem(0, f"cannot read the file: {error.strerror}")]) from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        message = "not UTF-8 text (in Excel, save as “CSV UTF-8”)"
        raise BulkLoadRejected([Problem(line, message)]) from error


def _records(
    text: str, columns: tuple[str, ...]
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """(line, fields by column) of each non-blank record; and rows with a field too many or few.

    Such a row has a comma missing or extra, which shifts every field after it, so it is
    reported as that and not checked field by field.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in _next_record(reader) or []]
    if sorted(header) != sorted(columns):
        expected = ",".join(columns)
        raise BulkLoadRejected([Problem(1, f"the header must name the columns {expected}")])
    records: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    line = reader.line_num + 1
    while (fields := _next_record(reader)) is not None:
        if not any(field.strip() for field in fields):
            pass  # blank lines, and the ",,," rows spreadsheets leave behind
        elif len(fields) == len(header):
            records.append((line, dict(zip(header, fields, strict=True))))
        else:
            problems.append(Problem(line, f"expected {len(header)} fields, found {len(fields)}"))
        line = reader.line_num + 1
    return records, problems


def _next_record(reader: Iterator[list[str]]) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as error:
        # What the csv module refuses to read past, such as a field over its size limit.
        line = getattr(reader, "line_num", 0)
        raise BulkLoadRejected([Problem(line, f"not readable as CSV: {error}")]) from error


def _parse_rows(
    kind: str, records: list[tuple[int, dict[str, str]]]
) -> tuple[list[_Row], list[Problem]]:
    """Rows that pass the registry's rules and are not repeated in the file; and the rest."""
    rows: list[_Row] = []
    problems: list[Problem] = []
    first_line: dict[tuple[Any, ...], int] = {}
    for line, fields in records:
        messages, row = _parse_row(kind, line, fields)
        if row is not None:
            key = row.key(kind)
            if key in first_line:
                messages.append(f"repeats line {first_line[key]} of this file")
            else:
                first_line[key] = line
        problems.extend(Problem(line, message) for message in messages)
        if row is not None and not messages:
            rows.append(row)
    return rows, problems


def _parse_row(kind: str, line: int, fields: dict[str, str]) -> tuple[list[str], _Row | None]:
    """Every field's problem, not just the first; the row when all fields are good."""
    messages: list[str] = []
    values: dict[str, str] = {}
    for column in KINDS[kind]:
        try:
            values[column] = _FIELD_CHECKS[column](fields[column], column)
        except InvalidInput as problem:
            messages.append(problem.detail)
    if messages:
        return messages, None
    compound_id = int(values.pop("compound_id"))
    return messages, _Row(line, compound_id, values)


def _check_compound_id(text: str, field: str) -> str:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18 or int(value) < 1:
        raise InvalidInput(field, f"{text!r} is not a compound id (a whole number)")
    return str(int(value))


def _check_windows(text: str, field: str) -> str:
    """ "07:00-09:00;18:00-20:00" as stored: "07:00-09:00,18:00-20:00"; empty is allowed."""
    for separator in _WINDOW_SEPARATORS[1:]:
        text = text.replace(separator, _WINDOW_SEPARATORS[0])
    parts = [part for part in text.split(_WINDOW_SEPARATORS[0]) if part.strip()]
    return ",".join(str(window) for window in parse_windows(parts, field))


_FIELD_CHECKS: dict[str, Callable[[str, str], str]] = {
    "compound_id": _check_compound_id,
    "building": check_address_part,
    "unit": check_address_part,
    "room": check_address_part,
    "name": check_name,
    "windows": _check_windows,
}


async def _check_database(kind: str, rows: list[_Row]) -> list[Problem]:
    """Unknown compounds, and rows the compound already has."""
    compound_ids = {row.compound_id for row in rows}
    known = await store.compound_kinds(compound_ids)
    existing = await store.existing_loaded(kind, _KEY_COLUMNS[kind], known)
    problems: list[Problem] = []
    for row in rows:
        if row.compound_id not in known:
            problems.append(Problem(row.line, f"compound_id: compound {row.compound_id} not found"))
        elif misfit := _misfit(kind, known[row.compound_id]):
            problems.append(Problem(row.line, misfit))
        elif row.key(kind) in existing:
            what = "/".join(row.values[name] for name in _KEY_COLUMNS[kind])
            message = f"{what} is already registered in compound {row.compound_id}"
            problems.append(Problem(row.line, message))
    return problems


def _misfit(kind: str, compound_kind: str) -> str:
    """Why a unit of this load may not go into a compound of that kind ("" when it may)."""
    if kind not in _UNIT_KINDS:
        return ""
    try:
        check_unit_fits(compound_kind, _UNIT_KINDS[kind])
    except InvalidInput as problem:
        return f"compound_id: {problem.detail.removeprefix('kind: ')}"
    return ""


async def _load(kind: str, rows: list[_Row], now: datetime) -> None:
    if kind in _UNIT_KINDS:
        communities = await store.communities_of(row.compound_id for row in rows)
        for compound_id, group in _by_compound(rows).items():
            community_id = communities[compound_id]
            if kind == "households":
                addresses = [
                    (r.values["building"], r.values["unit"], r.values["room"]) for r in group
                ]
                await store.add_households(community_id, compound_id, addresses, now)
            else:
                names = [r.values["name"] for r in group]
                unit_kind = _UNIT_KINDS[kind].value
                await store.add_named_units(community_id, compound_id, unit_kind, names, now)
        return
    records = [
        {"compound": row.compound_id, **row.values, "card_serial": 1, "created_at": now}
        for row in rows
    ]
    await store.insert_loaded(kind, records)


def _by_compound(rows: list[_Row]) -> dict[int, list[_Row]]:
    groups: dict[int, list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.compound_id, []).append(row)
    return groups
