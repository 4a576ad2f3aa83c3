"""The floor: the SQL of one graded credit, straight through asyncpg, no application around it.

    python -m bench.floor --db bench_floor --fixture var/bench/fixture.json

Statement for statement what `Scans.inspect` sends on PostgreSQL (captured from the asyncpg
connection; docs/BENCHMARKS.md lists them): one pooled connection per credit, BEGIN, 9
statements in the ledger's order and with its texts (the move of the points and the writes that
ride on an INSERT are built by the ledger's own `MOVE_*` and `sql.carrying`; the issuance
stripe's id read once per stripe and remembered, as the ledger does), COMMIT - 11 round trips;
the pool, like the ledger's, does not reset connections on release.
Values come from the previous statements' results exactly as in the ledger, so the same rows
are locked in the same order. Only the decisions are taken for granted: the token's HMAC, the
scope check and `award_for_grade` (the fixture's pairs always earn 10 points). Every credit is
checked: the idempotency miss, the rows found, the stripe's conditional debit, the household's
balance after, and the claim of the event id.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
import uuid
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench.common import (
    CONCURRENCY_SERVICE,
    GRADE_POINTS_GOOD,
    STREAMS,
    CaptureStatements,
    Outcome,
    backend_cpu,
    cpu_per_operation,
    log,
    pg_url,
    run_timed,
    slot,
    write_result,
)
from ledger.store.ledger import MOVE_CREDIT_FIRST, MOVE_DEBIT_FIRST
from ledger.store.lots import ADD_TO_TOTAL
from ledger.store.sql import carrying

ISSUANCE_STRIPES = 16
LOCAL = ZoneInfo("Asia/Shanghai")

SQL = {
    "idempotency_find": (
        "SELECT operation, fingerprint, outcome, result FROM idempotency_record WHERE event_id = $1"
    ),
    "household": (
        "SELECT t.*, c.community AS community_id FROM household t "
        "JOIN compound c ON c.id = t.compound WHERE t.id = $1"
    ),
    "point": (
        "SELECT t.*, c.community AS community_id FROM collection_point t "
        "JOIN compound c ON c.id = t.compound WHERE t.id = $1"
    ),
    "rule": (
        "SELECT version, rules FROM earning_rule WHERE community = $1 AND effective_from <= $2 "
        "ORDER BY effective_from DESC, version DESC LIMIT 1"
    ),
    "lock": "SELECT id FROM account WHERE id = $1 FOR UPDATE",
    "today": (
        "SELECT stream, scored, points_awarded FROM inspection "
        "WHERE household = $1 AND local_day = $2"
    ),
    "stripe": "SELECT id FROM account WHERE community = $1 AND kind = $2 AND stripe = $3",
    "unsealed": "INSERT INTO entry_unsealed (entry_id) VALUES ($1)",
    "lot": (
        "INSERT INTO lot (account_id, entry_id, points, remaining_points, expires_on, "
        "created_at) VALUES ($1, $2, $3, $3, $4, $5)"
    ),
    "lot_total": ADD_TO_TOTAL,
    "fact": (
        "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) "
        "VALUES ($1, $2, $3, $4, $5)"
    ),
    "facts": (
        "INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) "
        "VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)"
    ),
    "inspection": (
        "INSERT INTO inspection (community_id, compound, household, point, inspector, stream, "
        "grade, final_grade, reasons, photo_ref, local_day, scored, points_awarded, entry_id, "
        "rule_version, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
        "RETURNING id"
    ),
    "idempotency_claim": (
        "INSERT INTO idempotency_record "
        "(event_id, operation, fingerprint, outcome, result, created_at, actor, role, inputs) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    ),
}
# The credit's statements (the move as its three steps) inside one server-side function: one
# round trip per credit (and no BEGIN/COMMIT/reset). Not the ledger's design - a measurement of
# what round trips cost.
ONE_TRIP_FUNCTION = """
CREATE OR REPLACE FUNCTION bench_graded_credit(
    p_event text, p_household bigint, p_point bigint, p_stream text, p_inspector bigint,
    p_actor text, p_now timestamptz, p_day date, p_stripe int, p_points bigint
) RETURNS TABLE (balance bigint, entry bigint) LANGUAGE plpgsql AS $$
DECLARE
    h household%ROWTYPE; pt collection_point%ROWTYPE; v_community bigint; v_version int;
    v_stripe bigint; v_debit_after bigint; v_entry bigint; v_inspection bigint;
BEGIN
    PERFORM 1 FROM idempotency_record WHERE event_id = p_event;
    IF FOUND THEN RAISE EXCEPTION 'replayed'; END IF;
    SELECT * INTO STRICT h FROM household WHERE id = p_household;
    SELECT * INTO STRICT pt FROM collection_point WHERE id = p_point;
    SELECT community INTO STRICT v_community FROM compound WHERE id = h.compound;
    SELECT version INTO STRICT v_version FROM earning_rule
        WHERE community = v_community AND effective_from <= p_now ORDER BY version DESC LIMIT 1;
    PERFORM id FROM account WHERE id = h.account FOR UPDATE;
    PERFORM 1 FROM inspection WHERE household = p_household AND local_day = p_day
        AND scored AND stream = p_stream;
    IF FOUND THEN RAISE EXCEPTION 'already scored'; END IF;
    SELECT id INTO STRICT v_stripe FROM account
        WHERE community = v_community AND kind = 'issuance' AND stripe = p_stripe;
    UPDATE account SET balance_points = balance_points - p_points
        WHERE id = v_stripe RETURNING balance_points INTO STRICT v_debit_after;
    UPDATE account SET balance_points = balance_points + p_points
        WHERE id = h.account RETURNING balance_points INTO STRICT balance;
    INSERT INTO entry (community_id, debit_account_id, credit_account_id, amount_points, kind,
        debit_balance_after, credit_balance_after, event_id, rule_version, actor, memo,
        created_at)
    VALUES (v_community, v_stripe, h.account, p_points, 'inspection', v_debit_after, balance,
        p_event, v_version, p_actor, p_stream || ' good', p_now) RETURNING id INTO v_entry;
    INSERT INTO entry_unsealed (entry_id) VALUES (v_entry);
    INSERT INTO lot (account_id, entry_id, points, remaining_points, expires_on, created_at)
    VALUES (h.account, v_entry, p_points, p_points,
        make_date(extract(year FROM p_day)::int + 1, 12, 31), p_now);
    INSERT INTO lot_total (account_id, expires_on, points)
    VALUES (h.account, make_date(extract(year FROM p_day)::int + 1, 12, 31), p_points)
    ON CONFLICT (account_id, expires_on) DO UPDATE SET points = lot_total.points + excluded.points;
    INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) VALUES
        (v_community, 'earned', json_build_object('account', h.account, 'delta', p_points),
         p_day, p_now);
    INSERT INTO inspection (community_id, compound, household, point, inspector, stream, grade,
        final_grade, local_day, scored, points_awarded, entry_id, rule_version, created_at)
    VALUES (v_community, h.compound, p_household, p_point, p_inspector, p_stream, 'good', 'good',
        p_day, true, p_points, v_entry, v_version, p_now) RETURNING id INTO v_inspection;
    INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) VALUES
        (v_community, 'grade', json_build_object('compound', h.compound, 'good', 1, 'graded', 1),
         p_day, p_now),
        (v_community, 'participation',
         json_build_object('compound', h.compound, 'household', p_household), p_day, p_now);
    INSERT INTO idempotency_record (event_id, operation, fingerprint, outcome, result,
        created_at)
    VALUES (p_event, 'inspection', md5(p_event) || md5(p_event), 'ok',
        json_build_object('balance_points', balance, 'entry_id', v_entry, 'inspection_id',
            v_inspection, 'points_awarded', p_points)::text, p_now);
    entry := v_entry;
    RETURN NEXT;
END $$
"""

# 9 statements per credit (6 reads, the move, the inspection carrying the unsealed mark, the lot,
# its lot_total and the points fact, the claim carrying the grade facts) + BEGIN + COMMIT; no
# reset on release.
STATEMENTS_PER_CREDIT = 9
ROUND_TRIPS = STATEMENTS_PER_CREDIT + 2


class Floor:
    def __init__(self, pool: asyncpg.Pool, fixture: dict[str, Any], households: list[Any]) -> None:
        self.pool = pool
        self.households = households
        self.points = fixture["points"]
        self.inspector = fixture["inspector"]
        self.run = uuid.uuid4().hex[:8]
        self.stripes: dict[tuple[int, int], int] = {}

    async def credit(self, index: int) -> Outcome:
        (household_id, _, compound_id, _), round_, expected = slot(self.households, index)
        point_id = self.points[str(compound_id)][0]
        stream = STREAMS[round_]
        event_id = f"floor-{self.run}-{index}"
        now = datetime.now(UTC)
        day = _local_day(now)
        async with self.pool.acquire() as db, db.transaction():
            if await db.fetch(SQL["idempotency_find"], event_id):
                return 0, "replayed: a fresh event id was found"
            household = (await db.fetch(SQL["household"], household_id))[0]
            point = (await db.fetch(SQL["point"], point_id))[0]
            if household["card_serial"] != 1 or point["card_serial"] != 1:
                return 0, "card: serial changed"
            community = household["community_id"]
            rule = await db.fetch(SQL["rule"], community, now)
            if not rule:
                return 0, "rule: none in force"
            account = household["account"]
            await db.fetch(SQL["lock"], account)
            today = await db.fetch(SQL["today"], household_id, day)
            if any(row["scored"] and row["stream"] == stream for row in today):
                return 0, "cap: this pair already scored today"
            stripe_no = _stripe(event_id)
            stripe = self.stripes.get((community, stripe_no))
            if stripe is None:
                rows = await db.fetch(SQL["stripe"], community, "issuance", stripe_no)
                stripe = self.stripes[(community, stripe_no)] = rows[0]["id"]
            points = GRADE_POINTS_GOOD
            moved = await db.fetch(
                MOVE_DEBIT_FIRST if stripe < account else MOVE_CREDIT_FIRST,
                stripe,
                account,
                points,
                "inspection",
                event_id,
                None,
                rule[0]["version"],
                self.inspector["username"],
                f"{stream} good",
                now,
                None,  # captured_at: the floor sends no capture time
            )
            balance, entry_id = moved[0]["credit_after"], moved[0]["entry_id"]
            if entry_id is None:
                return 0, "move: the entry was not written"
            if balance != expected:
                return 0, f"balance: {balance} after the credit, expected {expected}"
            points_fact = {"account": account, "delta": points}
            inspection_id = (
                await db.fetch(
                    carrying(
                        (SQL["unsealed"], SQL["lot"], SQL["lot_total"], SQL["fact"]),
                        SQL["inspection"],
                    ),
                    *(community, household["compound"], household_id, point_id),
                    *(self.inspector["id"], stream, "good", "", "", day, True, points),
                    *(entry_id, rule[0]["version"], now),
                    entry_id,
                    *(account, entry_id, points, _expiry(day), now),
                    *(account, _expiry(day), points),
                    *(community, "earned", _json(points_fact), day, now),
                )
            )[0]["id"]
            grade_fact = {"compound": household["compound"], "graded": 1, "good": 1}
            taking_part = {"compound": household["compound"], "household": household_id}
            result = {
                "inspection_id": inspection_id,
                "entry_id": entry_id,
                "points_awarded": points,
                "balance_points": balance,
                "scored": True,
                "capped": False,
                "message": "credited",
            }
            fingerprint = hashlib.sha256(event_id.encode()).hexdigest()
            claimed = await db.fetch(
                carrying((SQL["facts"],), SQL["idempotency_claim"]),
                event_id,
                "inspection",
                fingerprint,
                "ok",
                _json(result),
                now,
                self.inspector["username"],
                "inspector",
                _json({"stream": stream, "grade": "good"}),
                *(community, "grade", _json(grade_fact), day, now),
                *(community, "participation", _json(taking_part), day, now),
            )
            if not claimed:
                return 0, "claim: the event id was taken"
        return 1, None

    async def credit_one_trip(self, index: int) -> Outcome:
        (household_id, _, compound_id, _), round_, expected = slot(self.households, index)
        event_id = f"floor1-{self.run}-{index}"
        now = datetime.now(UTC)
        async with self.pool.acquire() as db:
            rows = await db.fetch(
                "SELECT balance, entry FROM bench_graded_credit"
                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                event_id,
                household_id,
                self.points[str(compound_id)][0],
                STREAMS[round_],
                self.inspector["id"],
                self.inspector["username"],
                now,
                _local_day(now),
                _stripe(event_id),
                GRADE_POINTS_GOOD,
            )
        if rows[0]["balance"] != expected:
            return 0, f"balance: {rows[0]['balance']} after the credit, expected {expected}"
        return 1, None


async def _keep(connection: asyncpg.Connection) -> None:
    """No `RESET ALL` on release, as in the ledger's pool (ledger/store/engine.py)."""


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _stripe(event_id: str) -> int:
    return zlib.crc32(event_id.encode()) % ISSUANCE_STRIPES


def _local_day(now: datetime) -> date:
    return now.astimezone(LOCAL).date()


def _expiry(day: date) -> date:
    return date(day.year + 1, 12, 31)


async def consistency(db: asyncpg.Connection, credited: int) -> dict[str, Any]:
    """The ledger's own invariants, checked on what the floor wrote."""
    row = await db.fetchrow(
        "SELECT (SELECT COUNT(*) FROM entry) AS entries,"
        " (SELECT COALESCE(SUM(balance_points), 0) FROM account) AS balance_sum,"
        " (SELECT COALESCE(SUM(balance_points), 0) FROM account WHERE kind = 'household')"
        "   AS household_points,"
        " (SELECT COALESCE(SUM(remaining_points), 0) FROM lot) AS lot_points,"
        " (SELECT COALESCE(SUM(points), 0) FROM lot_total) AS lot_total_points,"
        " (SELECT COUNT(*) FROM idempotency_record) AS claims,"
        " (SELECT COUNT(*) FROM board_fact) AS facts"
    )
    checks = {
        "one_entry_per_credit": row["entries"] == credited,
        "conservation_sum_zero": row["balance_sum"] == 0,
        "lots_match_balances": row["lot_points"] == row["household_points"],
        "lot_totals_match_lots": row["lot_total_points"] == row["lot_points"],
        "one_claim_per_credit": row["claims"] == credited,
        "three_facts_per_credit": row["facts"] == 3 * credited,
    }
    return {"counts": dict(row), "checks": checks}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    fixture = json.loads(args.fixture.read_text())
    pool = await asyncpg.create_pool(pg_url(args.db), min_size=1, max_size=10, reset=_keep)
    assert pool is not None
    households = fixture["households"]
    half = len(households) // 2
    try:
        floor = Floor(pool, fixture, households[:half])
        with CaptureStatements() as captured:
            captured_outcome = await floor.credit(-1)
        assert captured_outcome == (1, None), captured_outcome
        summary = await timed(pool, args, floor.credit)
        one_trip = Floor(pool, fixture, households[half:])
        async with pool.acquire() as db:
            await db.execute(ONE_TRIP_FUNCTION)
        one_trip_summary = await timed(pool, args, one_trip.credit_one_trip)
        async with pool.acquire() as db:
            credited = await db.fetchval("SELECT COUNT(*) FROM idempotency_record")
            checked = await consistency(db, credited)
    finally:
        await pool.close()
    summary |= {
        "round_trips_per_credit": ROUND_TRIPS,
        "statements": captured.shapes(),
        "consistency": checked,
        "one_round_trip": one_trip_summary,
    }
    summary["all_ok"] = (
        summary["all_ok"] and one_trip_summary["all_ok"] and all(checked["checks"].values())
    )
    return summary


async def timed(pool: asyncpg.Pool, args: argparse.Namespace, operation: Any) -> dict[str, Any]:
    pg_before, own_before = await backend_cpu(args.db), time.process_time()
    tally, wall = await run_timed(
        operation, concurrency=args.concurrency, warmup_s=args.warmup, duration_s=args.duration
    )
    cpu = cpu_per_operation(
        tally.issued, time.process_time() - own_before, await backend_cpu(args.db), pg_before
    )
    return tally.summary(wall) | {"concurrency": args.concurrency, "cpu_ms_per_credit": cpu}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY_SERVICE)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", default="floor")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(main_async(args))
    write_result(args.out, result)
    one = result["one_round_trip"]
    log(
        f"floor: {result['per_s']}/s p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms; "
        f"in one round trip {one['per_s']}/s p50 {one['p50_ms']} ms; ok={result['all_ok']}"
    )


if __name__ == "__main__":
    main()
