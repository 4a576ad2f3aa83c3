"""Set-based reads and writes for a batch of graded drop-offs (PostgreSQL only).

Each function is the many-rows form of one the single credit uses, with the same columns and
values: one statement per table instead of one per event (arrays passed as parameters and
expanded with `unnest`). The writes return nothing the batch needs (it takes its ids from the
sequences first), so they go through `sql.later` and travel together with the batch's last
INSERT, the idempotency claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.domain.chain import SealableEntry
from ledger.store import sql

_SCANNED = {
    table: (
        f"SELECT t.*, c.community AS community_id FROM {table} t "  # noqa: S608 (constant names)
        "JOIN compound c ON c.id = t.compound WHERE t.id = ANY($1::bigint[])"
    )
    for table in ("household", "collection_point")
}


async def scanned(table: str, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The rows codes name, each with its compound's community, by id."""
    rows = await sql.fetch(_SCANNED[table], sorted(set(ids)))
    return {int(row["id"]): dict(row) for row in rows}


async def lock_balances(account_ids: Sequence[int]) -> dict[int, int]:
    """Lock the accounts in id order (as `post` does) and read their balances."""
    rows = await sql.fetch(
        "SELECT id, balance_points FROM account WHERE id = ANY($1::bigint[]) ORDER BY id "
        "FOR UPDATE",
        sorted(set(account_ids)),
    )
    return {int(row["id"]): int(row["balance_points"]) for row in rows}


async def grading_on(household_ids: Sequence[int], days: Sequence[date]) -> list[dict[str, Any]]:
    """These households' grades of these local days (read after their accounts are locked)."""
    rows = await sql.fetch(
        "SELECT household, local_day, stream, scored, points_awarded FROM inspection "
        "WHERE household = ANY($1::bigint[]) AND local_day = ANY($2::date[])",
        sorted(set(household_ids)),
        sorted(set(days)),
    )
    return [dict(row) for row in rows]


async def dropoff_streams(dropoff_ids: Sequence[int]) -> dict[int, set[str]]:
    """The streams already graded from these drop-offs (read after the accounts are locked)."""
    if not dropoff_ids:
        return {}
    rows = await sql.fetch(
        "SELECT dropoff_id, stream FROM inspection WHERE dropoff_id = ANY($1::bigint[])",
        sorted(set(dropoff_ids)),
    )
    streams: dict[int, set[str]] = {}
    for row in rows:
        streams.setdefault(int(row["dropoff_id"]), set()).add(str(row["stream"]))
    return streams


async def next_ids(table: str, count: int) -> list[int]:
    """`count` ids from the table's own sequence, in order."""
    if count == 0:
        return []
    rows = await sql.fetch(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)",
        table,
        count,
    )
    return sorted(int(row["id"]) for row in rows)


@dataclass(frozen=True, slots=True)
class NewInspection:
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
    local_day: date
    scored: bool
    points_awarded: int
    entry_id: int | None
    rule_version: int
    created_at: datetime
    dropoff_id: int | None = None


async def move_points(deltas: dict[int, int]) -> None:
    """Add each account's net change (the rows are locked by `lock_balances`)."""
    if deltas:
        ids = sorted(deltas)
        await sql.later(
            "UPDATE account SET balance_points = account.balance_points + d.delta "
            "FROM unnest($1::bigint[], $2::bigint[]) AS d(id, delta) WHERE account.id = d.id",
            ids,
            [deltas[account_id] for account_id in ids],
        )


async def append_entries(entries: Sequence[SealableEntry]) -> None:
    """The entries (every stored field, as a seal commits to them) and their sealer queue rows."""
    if not entries:
        return
    columns = list(zip(*((*_entry_values(e),) for e in entries), strict=True))
    await sql.later(
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
        "ORDER BY e.n",
        *(list(column) for column in columns),
    )
    await sql.later(
        "INSERT INTO entry_unsealed (entry_id) SELECT unnest($1::bigint[])",
        [entry.entry_id for entry in entries],
    )


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


async def append_inspections(inspections: Sequence[NewInspection]) -> None:
    if not inspections:
        return
    columns = [
        list(column)
        for column in zip(
            *(
                (
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
                for i in inspections
            ),
            strict=True,
        )
    ]
    await sql.later(
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
        "created_at, dropoff_id, n) ORDER BY i.n",
        *columns,
    )


async def record_facts(facts: Sequence[tuple[int, str, str, date, datetime]]) -> None:
    """(community_id, kind, payload JSON, local day, created_at), in the order given."""
    if not facts:
        return
    columns = [list(column) for column in zip(*facts, strict=True)]
    await sql.later(
        "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) "
        "SELECT f.community_id, f.kind, f.payload, f.local_day, f.created_at "
        "FROM unnest($1::bigint[], $2::varchar[], $3::text[], $4::date[], $5::timestamptz[]) "
        "WITH ORDINALITY AS f(community_id, kind, payload, local_day, created_at, n) "
        "ORDER BY f.n",
        *columns,
    )
