"""Set-based reads and writes for a group of gradings (services/grading_group.py).

On PostgreSQL one statement per table, whatever the group's size (arrays passed as parameters
and expanded with `unnest`). The writes return nothing the group needs (it takes its ids from
the sequences first), so they go through `sql.later` and travel together with the group's last
INSERT, the idempotency claims. On SQLite, where a statement is a function call and the write
transaction holds the only write lock, the same rows go one statement per row, and the lists
of ids to read are passed as JSON (`json_each`). The PostgreSQL texts are module constants:
bench/floor.py sends these same texts (tests/integration/test_round_trips.py compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.domain.chain import SealableEntry
from ledger.store import sql
from ledger.store.earning import ScannedHousehold, ScannedPoint
from ledger.store.engine import IN_ID_LIST, dialect, id_list, is_sqlite
from ledger.store.records import picked

SCANNED = {
    (table, engine): (
        f"SELECT t.*, c.community AS community_id FROM {table} t "  # noqa: S608 (constant names)
        f"JOIN compound c ON c.id = t.compound WHERE t.id {any_of}"
    )
    for table in ("household", "collection_point")
    for engine, any_of in IN_ID_LIST.items()
}


async def scanned_households(ids: Sequence[int]) -> dict[int, ScannedHousehold]:
    """The households codes name, each with its compound's community, by id."""
    rows = await sql.fetch(SCANNED[("household", dialect())], id_list(ids))
    return {row["id"]: picked(ScannedHousehold, row) for row in rows}


async def scanned_points(ids: Sequence[int]) -> dict[int, ScannedPoint]:
    """The collection points codes name, each with its compound's community, by id."""
    rows = await sql.fetch(SCANNED[("collection_point", dialect())], id_list(ids))
    return {row["id"]: picked(ScannedPoint, row) for row in rows}


# SQLite: the write transaction already holds the database's one write lock. On PostgreSQL
# the accounts are locked by `grading_lock` (group_reads.lock_and_grades): households' first,
# then the issuance stripes, each in id order, the order a weigh-in, an appeal or a redemption
# takes them (the household, then `post`'s move), so a group and those cannot deadlock.
BALANCES_SQLITE = (
    "SELECT id, balance_points FROM account WHERE id IN (SELECT value FROM json_each($1))"
)


async def balances_sqlite(account_ids: Sequence[int]) -> dict[int, int]:
    """SQLite: the accounts' balances (the write lock is the database's)."""
    rows = await sql.fetch(BALANCES_SQLITE, id_list(account_ids))
    return {int(row["id"]): int(row["balance_points"]) for row in rows}


@dataclass(frozen=True, slots=True)
class InspectionScore:
    """What a grading decided, as its inspection row keeps it: the day it counts for, whether
    it scored, its points and their entry, under which rules, when."""

    local_day: date
    scored: bool
    points_awarded: int
    entry_id: int | None
    rule_version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewInspection(InspectionScore):
    inspection_id: int
    community_id: int
    compound: int
    household: int
    point: int
    inspector: int | None
    stream: str
    grade: str
    reasons: str
    photo_ref: str
    dropoff_id: int | None = None


_MOVE_ONE = "UPDATE account SET balance_points = balance_points + $2 WHERE id = $1"
MOVE_MANY_PG = (
    "UPDATE account SET balance_points = account.balance_points + d.delta "
    "FROM unnest($1::bigint[], $2::bigint[]) AS d(id, delta) WHERE account.id = d.id"
)


async def move_points(deltas: dict[int, int]) -> None:
    """Add each account's net change (the rows are locked by `group_reads.lock_and_grades`)."""
    if deltas and is_sqlite():
        for account_id, delta in sorted(deltas.items()):
            await sql.fetch(_MOVE_ONE, account_id, delta)
    elif deltas:
        ids = sorted(deltas)
        await sql.later(
            MOVE_MANY_PG,
            ids,
            [deltas[account_id] for account_id in ids],
        )


_ENTRY_ONE = (
    "INSERT INTO entry (id, community_id, debit_account_id, credit_account_id, amount_points, "
    "kind, debit_balance_after, credit_balance_after, event_id, reverses_entry_id, "
    "rule_version, actor, memo, created_at, captured_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)
_UNSEALED_ONE = "INSERT INTO entry_unsealed (entry_id) VALUES ($1)"
APPEND_ENTRIES_PG = (
    "INSERT INTO entry (id, community_id, debit_account_id, credit_account_id, "
    "amount_points, kind, debit_balance_after, credit_balance_after, event_id, "
    "reverses_entry_id, rule_version, actor, memo, created_at, captured_at) "
    "SELECT e.id, e.community_id, e.debit, e.credit, e.amount, e.kind, e.debit_after, "
    "e.credit_after, e.event_id, e.reverses, e.rule_version, e.actor, e.memo, e.created_at, "
    "e.captured_at "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
    "$6::varchar[], $7::bigint[], $8::bigint[], $9::varchar[], $10::bigint[], "
    "$11::integer[], $12::varchar[], $13::text[], $14::timestamptz[], $15::timestamptz[]) "
    "WITH ORDINALITY AS e(id, community_id, debit, credit, amount, kind, debit_after, "
    "credit_after, event_id, reverses, rule_version, actor, memo, created_at, captured_at, n) "
    "ORDER BY e.n"
)
UNSEALED_MANY_PG = "INSERT INTO entry_unsealed (entry_id) SELECT unnest($1::bigint[])"


async def append_entries(entries: Sequence[SealableEntry]) -> None:
    """The entries (every stored field, as a seal commits to them) and their sealer queue rows."""
    if not entries:
        return
    if is_sqlite():
        for entry in entries:
            await sql.fetch(_ENTRY_ONE, *_entry_values(entry))
            await sql.fetch(_UNSEALED_ONE, entry.entry_id)
        return
    columns = list(zip(*((*_entry_values(e),) for e in entries), strict=True))
    await sql.later(APPEND_ENTRIES_PG, *(list(column) for column in columns))
    await sql.later(UNSEALED_MANY_PG, [entry.entry_id for entry in entries])


def _entry_values(entry: SealableEntry) -> tuple[Any, ...]:
    return (
        entry.entry_id,
        entry.community_id,
        entry.debit_account_id,
        entry.credit_account_id,
        entry.amount_points,
        entry.kind,
        entry.debit_balance_after,
        entry.credit_balance_after,
        entry.event_id,
        entry.reverses_entry_id,
        entry.rule_version,
        entry.actor,
        entry.memo,
        entry.created_at,
        entry.captured_at,
    )


def _inspection_values(i: NewInspection) -> tuple[Any, ...]:
    return (
        i.inspection_id,
        i.community_id,
        i.compound,
        i.household,
        i.point,
        i.inspector,
        i.stream,
        i.grade,
        i.reasons,
        i.photo_ref,
        i.local_day,
        i.scored,
        i.points_awarded,
        i.entry_id,
        i.rule_version,
        i.created_at,
        i.dropoff_id,
    )


_INSPECTION_ONE = (
    "INSERT INTO inspection (id, community_id, compound, household, point, inspector, stream, "
    "grade, final_grade, reasons, photo_ref, local_day, scored, points_awarded, entry_id, "
    "rule_version, created_at, dropoff_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
)
APPEND_INSPECTIONS_PG = (
    "INSERT INTO inspection (id, community_id, compound, household, point, inspector, "
    "stream, grade, final_grade, reasons, photo_ref, local_day, scored, points_awarded, "
    "entry_id, rule_version, created_at, dropoff_id) "
    "SELECT i.id, i.community_id, i.compound, i.household, i.point, i.inspector, i.stream, "
    "i.grade, i.grade, i.reasons, i.photo_ref, i.local_day, i.scored, i.points, i.entry_id, "
    "i.rule_version, i.created_at, i.dropoff_id "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
    "$6::bigint[], $7::varchar[], $8::varchar[], $9::text[], $10::varchar[], $11::date[], "
    "$12::boolean[], $13::bigint[], $14::bigint[], $15::integer[], $16::timestamptz[], "
    "$17::bigint[]) "
    "WITH ORDINALITY AS i(id, community_id, compound, household, point, inspector, stream, "
    "grade, reasons, photo_ref, local_day, scored, points, entry_id, rule_version, "
    "created_at, dropoff_id, n) ORDER BY i.n"
)


async def append_inspections(inspections: Sequence[NewInspection]) -> None:
    if not inspections:
        return
    rows = [_inspection_values(i) for i in inspections]
    if is_sqlite():
        for row in rows:
            await sql.fetch(_INSPECTION_ONE, *row)
        return
    columns = [list(column) for column in zip(*rows, strict=True)]
    await sql.later(APPEND_INSPECTIONS_PG, *columns)


_FACT_ONE = (
    "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) "
    "VALUES ($1, $2, $3, $4, $5)"
)
RECORD_FACTS_PG = (
    "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) "
    "SELECT f.community_id, f.kind, f.payload, f.local_day, f.created_at "
    "FROM unnest($1::bigint[], $2::varchar[], $3::text[], $4::date[], $5::timestamptz[]) "
    "WITH ORDINALITY AS f(community_id, kind, payload, local_day, created_at, n) "
    "ORDER BY f.n"
)


async def record_facts(facts: Sequence[tuple[int, str, str, date, datetime]]) -> None:
    """(community_id, kind, payload JSON, local day, created_at), in the order given."""
    if not facts:
        return
    if is_sqlite():
        for fact in facts:
            await sql.fetch(_FACT_ONE, *fact)
        return
    columns = [list(column) for column in zip(*facts, strict=True)]
    await sql.later(RECORD_FACTS_PG, *columns)
