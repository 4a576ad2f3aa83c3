"""The reads of a group of gradings (services/grading_group.py), folded into two statements.

On PostgreSQL each statement is a round trip, and round trips are most of a group's time (a
group's callers wait for all of them). So the reads go in as few statements as the group's
guarantees allow (docs/decisions/2026-12-06-folded-credit-reads.md):

* Before the accounts are locked, one statement (`FIRST_READS_PG`): the stored outcomes of the
  event ids, the households and the collection points their codes name (each with its
  compound's community), and those communities' rules versions in force at any moment from
  the group's earliest to its latest. No part needs another's answer, and none needs a lock:
  an event id stored meanwhile by another transaction still fails the claim (`Race`). The
  parts are rows of one UNION ALL, told apart by `part`, each filling its own columns.
* The lock and what is read after it, one round trip (`LOCK_AND_GRADES_PG`, the function
  `grading_lock`): the accounts locked with their balances, then the households' grades of the
  days and the ids of the group's new entries and inspections. The grades cannot ride in the
  lock's statement: a statement reads with the snapshot it started with, so a grade committed
  by the transaction the lock waited for would be missed, and a stream could score twice in a
  day. In a VOLATILE function each statement takes a fresh snapshot, so the function reads
  them in a second statement, after the lock is granted
  (docs/decisions/2026-12-07-lock-and-grades-in-one-round-trip.md).

Households and points named by typed short codes, and the rules of a community none of these
rows is in (a drop-off's household elsewhere), are read afterwards by the group, as before.
On SQLite, where a statement is a function call and no round trip, the same reads go as the
statements they fold: its UNION would type each column by the first part's NULLs, and it has
no arrays. The PostgreSQL texts are module constants: bench/floor.py sends these same texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ledger.store import batch_writes, idempotency, sql
from ledger.store.earning import RuleRow, ScannedHousehold, ScannedPoint, rules_between
from ledger.store.engine import id_list, is_sqlite
from ledger.store.idempotency import StoredOutcome
from ledger.store.records import picked

# The columns of the first read's rows, with their types: a part leaves the others NULL (typed,
# or PostgreSQL takes a column that is NULL in two parts for text).
_COLUMNS = {
    "event_id": "varchar",
    "operation": "varchar",
    "fingerprint": "varchar",
    "outcome": "varchar",
    "result": "text",
    "id": "bigint",
    "compound": "bigint",
    "community_id": "bigint",
    "account": "bigint",
    "building": "varchar",
    "unit": "varchar",
    "room": "varchar",
    "kind": "varchar",
    "name": "varchar",
    "windows": "text",
    "card_serial": "integer",
    "join_code": "varchar",
    "version": "integer",
    "rules": "text",
    "effective_from": "timestamptz",
}


def _part(part: str, values: dict[str, str], source: str) -> str:
    listed = ", ".join(
        c if values.get(c) == c else f"{values.get(c, f'NULL::{t}')} AS {c}"
        for c, t in _COLUMNS.items()
    )
    return f"SELECT '{part}' AS part, {listed} {source}"


_SCANNED = {"id": "t.id", "compound": "t.compound", "community_id": "c.community"}
_SCANNED_FROM = (
    "FROM {table} t JOIN compound c ON c.id = t.compound WHERE t.id = ANY(${n}::bigint[])"
)
_HOUSEHOLD = ("account", "building", "unit", "room", "kind", "name", "card_serial", "join_code")
_POINT = ("name", "windows", "card_serial")
_RECORD = ("event_id", "operation", "fingerprint", "outcome", "result")

# $1 the event ids, $2 the households, $3 the points, $4 and $5 the earliest and the latest
# moment. The rules part is `earning.RULES_BETWEEN` for every community of those rows.
FIRST_READS_PG = " UNION ALL ".join(
    (
        _part(
            "record",
            {c: c for c in _RECORD},
            "FROM idempotency_record WHERE event_id = ANY($1::varchar[])",
        ),
        _part(
            "household",
            _SCANNED | {c: f"t.{c}" for c in _HOUSEHOLD},
            _SCANNED_FROM.format(table="household", n=2),
        ),
        _part(
            "point",
            _SCANNED | {c: f"t.{c}" for c in _POINT},
            _SCANNED_FROM.format(table="collection_point", n=3),
        ),
        _part(
            "rule",
            {
                "community_id": "r.community",
                "version": "r.version",
                "rules": "r.rules",
                "effective_from": "r.effective_from",
            },
            "FROM earning_rule r WHERE r.community IN (SELECT c.community FROM compound c "
            "WHERE c.id IN (SELECT compound FROM household WHERE id = ANY($2::bigint[])) "
            "OR c.id IN (SELECT compound FROM collection_point WHERE id = ANY($3::bigint[]))) "
            "AND r.effective_from <= $5 AND (r.effective_from > $4 OR r.version IN "
            "(SELECT version FROM earning_rule WHERE community = r.community "
            "AND effective_from <= $4 ORDER BY effective_from DESC, version DESC LIMIT 1))",
        ),
    )
)


@dataclass(frozen=True, slots=True)
class Asked:
    """What a group reads first for: its event ids, the households and points its scanned codes
    name, and the earliest and the latest moment its gradings count at."""

    event_ids: list[str]
    household_ids: list[int]
    point_ids: list[int]
    earliest: datetime
    latest: datetime


@dataclass(frozen=True, slots=True)
class FirstReads:
    """What a group reads before it locks: every household and point asked for, by id (None:
    no such row), and the rules of every community of those found, in `rules_between`'s
    order, from the earliest moment asked for to the latest."""

    stored: dict[str, StoredOutcome]
    households: dict[int, ScannedHousehold | None]
    points: dict[int, ScannedPoint | None]
    rules: dict[int, list[RuleRow]]


async def first_reads(asked: Asked) -> FirstReads:
    """The stored outcomes, the rows the codes name and their communities' rules: one
    statement on PostgreSQL."""
    if is_sqlite():
        return await _first_reads_sqlite(asked)
    households: dict[int, ScannedHousehold | None] = dict.fromkeys(sorted(set(asked.household_ids)))
    points: dict[int, ScannedPoint | None] = dict.fromkeys(sorted(set(asked.point_ids)))
    rows = await sql.fetch(
        FIRST_READS_PG,
        sorted(set(asked.event_ids)),
        list(households),
        list(points),
        asked.earliest,
        asked.latest,
    )
    stored, versions = {}, []
    for row in rows:
        part = row["part"]
        if part == "record":
            stored[row["event_id"]] = idempotency.stored_outcome(row)
        elif part == "household":
            households[row["id"]] = picked(ScannedHousehold, row)
        elif part == "point":
            points[row["id"]] = picked(ScannedPoint, row)
        else:
            versions.append(
                (row["effective_from"], int(row["version"]), int(row["community_id"]), row)
            )
    rules: dict[int, list[RuleRow]] = {c: [] for c in _communities(households, points)}
    # `rules_between`'s order: the latest start first, a later version first on a tie.
    for effective_from, version, community, row in sorted(
        versions, key=lambda v: (v[0], v[1]), reverse=True
    ):
        rules[community].append(RuleRow(version, row["rules"], effective_from))
    return FirstReads(stored, households, points, rules)


async def _first_reads_sqlite(asked: Asked) -> FirstReads:
    stored = await idempotency.find_many(asked.event_ids)
    found_households = await batch_writes.scanned_households(asked.household_ids)
    found_points = await batch_writes.scanned_points(asked.point_ids)
    households = {h: found_households.get(h) for h in asked.household_ids}
    points = {p: found_points.get(p) for p in asked.point_ids}
    rules = {
        community: await rules_between(community, asked.earliest, asked.latest)
        for community in _communities(households, points)
    }
    return FirstReads(stored, households, points, rules)


def _communities(
    households: dict[int, ScannedHousehold | None], points: dict[int, ScannedPoint | None]
) -> list[int]:
    rows = [*households.values(), *points.values()]
    return sorted({row.community_id for row in rows if row is not None})


DayGrade = tuple[int, date, str, bool, int]
"""A grade of a household's day: (household, local day, stream, scored, points awarded)."""


@dataclass(frozen=True, slots=True)
class NewIds:
    entries: list[int]
    inspections: list[int]


# $1 the accounts to lock, $2 the households, $3 the days, $4 and $5 how many entry and
# inspection ids. One row: the locked accounts and their balances, the grades as arrays (one
# aggregate keeps them in step; NULL when there are none) and the ids.
LOCK_AND_GRADES_PG = (
    "SELECT * FROM grading_lock($1::bigint[], $2::bigint[], $3::date[], $4::int, $5::int)"
)
_GRADING_ON_SQLITE = (
    "SELECT household, local_day, stream, scored, points_awarded FROM inspection "
    "WHERE household IN (SELECT value FROM json_each($1)) "
    "AND local_day IN (SELECT value FROM json_each($2))"
)
_HIGHEST_IDS_SQLITE = (
    "SELECT (SELECT COALESCE(MAX(id), 0) FROM entry) AS entries, "
    "(SELECT COALESCE(MAX(id), 0) FROM inspection) AS inspections"
)


async def lock_and_grades(
    account_ids: Sequence[int],
    household_ids: Sequence[int],
    days: Sequence[date],
    *,
    entries: int,
    inspections: int,
) -> tuple[dict[int, int], list[DayGrade], NewIds]:
    """Lock the accounts (households', then stripes', each in id order) and read their
    balances; then, read after the lock was granted, these households' grades of these local
    days and ids for the group's new entries and inspections, in order: from the tables'
    sequences, or on SQLite after the highest (the write lock is held)."""
    if is_sqlite():
        balances = await batch_writes.balances_sqlite(account_ids)
        grades = await _grades_sqlite(household_ids, days)
        return balances, grades, await _ids_sqlite(entries, inspections)
    row = await sql.fetch_one(
        LOCK_AND_GRADES_PG,
        sorted(set(account_ids)),
        sorted(set(household_ids)),
        sorted(set(days)),
        entries,
        inspections,
    )
    assert row is not None, "grading_lock returns one row"
    balances = dict(zip(row["locked_ids"] or [], row["locked_balances"] or [], strict=True))
    columns = ("day_households", "day_dates", "day_streams", "day_scored", "day_points")
    grades = list(zip(*(row[column] or [] for column in columns), strict=True))
    return balances, grades, NewIds(sorted(row["entry_ids"]), sorted(row["inspection_ids"]))


async def _grades_sqlite(household_ids: Sequence[int], days: Sequence[date]) -> list[DayGrade]:
    rows = await sql.fetch(_GRADING_ON_SQLITE, id_list(household_ids), id_list(days))
    return [
        (
            int(row["household"]),
            _day(row["local_day"]),
            str(row["stream"]),
            bool(row["scored"]),
            int(row["points_awarded"]),
        )
        for row in rows
    ]


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


async def _ids_sqlite(entries: int, inspections: int) -> NewIds:
    row = await sql.fetch_one(_HIGHEST_IDS_SQLITE)
    assert row is not None, "a SELECT of two aggregates returns one row"
    first_entry, first_inspection = int(row["entries"]) + 1, int(row["inspections"]) + 1
    return NewIds(
        list(range(first_entry, first_entry + entries)),
        list(range(first_inspection, first_inspection + inspections)),
    )
