"""The floor: the SQL of one grading, straight through asyncpg, no application around it.

    python -m bench.floor --db bench_floor --fixture var/bench/fixture.json

Statement for statement and text for text what one `Gradings.inspect` sends on PostgreSQL when
it is a group of one (captured from the asyncpg connection; docs/BENCHMARKS.md lists them): one
pooled connection per credit, BEGIN, the group's reads before the lock in one statement (the
idempotency records, the household, the collection point, the rules in force), the accounts
locked in id order with their balances and then the household's grades of the day with the new
entry's and inspection's ids (`grading_lock`, one round trip), then one INSERT of the
idempotency claim carrying every write (the move of the points, the entry, its sealer mark, the
lot, its total, the three facts, the inspection), COMMIT - 5 round trips; the issuance
stripe's id is read once per stripe and remembered, as the ledger does (a 6th statement on a
stripe's first credit). Every text is the
ledger's own (`ledger/store/group_reads.py`, `batch_writes.py`, `idempotency.py`, `lots.py`,
composed by `sql.carrying` in the ledger's order), so it cannot drift; the pool, like the
ledger's, does not reset connections on release.
Values come from the previous statements' results exactly as in the ledger, so the same rows
are locked in the same order. Only the decisions are taken for granted: the token's HMAC, the
scope check and `award_for_grade` (the fixture's pairs always earn 10 points). Every credit is
checked: the idempotency miss, the rows found (household, point, both accounts locked, one id of
each kind), the pair not yet scored today, the household's balance after, and the claim of the
event id.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import common
from ledger.domain.accounts import issuance_stripe
from ledger.domain.localtime import local_day
from ledger.store import batch_writes, group_reads, idempotency, lots
from ledger.store.engine import GENERIC_PLANS_BEGIN
from ledger.store.ledger import COMMUNITY_ACCOUNT, lot_expiry
from ledger.store.sql import carrying

SQL = {
    "reads": group_reads.FIRST_READS_PG,
    "stripe": COMMUNITY_ACCOUNT,
    "lock_and_grades": group_reads.LOCK_AND_GRADES_PG,
    # The writes in the order `GradingGroup._write` queues them, riding on the claim.
    "claim": carrying(
        (
            batch_writes.MOVE_MANY_PG,
            batch_writes.APPEND_ENTRIES_PG,
            batch_writes.UNSEALED_MANY_PG,
            lots.OPEN_MANY_PG,
            lots.ADD_MANY_TO_TOTALS_PG,
            batch_writes.RECORD_FACTS_PG,
            batch_writes.APPEND_INSPECTIONS_PG,
        ),
        idempotency.CLAIM_MANY_PG,
    ),
}
# The credit's statements inside one server-side function: one round trip per credit (and no
# BEGIN/COMMIT). The same reads and writes in the same order, on the same tables, with one
# row's values for the arrays; the writes ride on the claim as in the ledger. Not the ledger's
# design - a measurement of what round trips cost.
ONE_TRIP_FUNCTION = """
CREATE OR REPLACE FUNCTION bench_graded_credit(
    p_event text, p_household bigint, p_point bigint, p_stream text, p_inspector bigint,
    p_actor text, p_now timestamptz, p_day date, p_expires date, p_stripe int, p_points bigint
) RETURNS TABLE (balance bigint, entry bigint) LANGUAGE plpgsql AS $$
DECLARE
    h record; pt record; r record; v_version int; v_stripe bigint; v_stripe_after bigint;
    v_entry bigint; v_inspection bigint;
BEGIN
    PERFORM 1 FROM idempotency_record WHERE event_id = ANY(ARRAY[p_event]::varchar[]);
    IF FOUND THEN RAISE EXCEPTION 'replayed'; END IF;
    SELECT t.*, c.community AS community_id INTO STRICT h FROM household t
        JOIN compound c ON c.id = t.compound WHERE t.id = ANY(ARRAY[p_household]);
    SELECT t.*, c.community AS community_id INTO STRICT pt FROM collection_point t
        JOIN compound c ON c.id = t.compound WHERE t.id = ANY(ARRAY[p_point]);
    SELECT version INTO v_version FROM earning_rule WHERE community = h.community_id AND
        effective_from <= p_now AND (effective_from > p_now OR version IN (SELECT version FROM
        earning_rule WHERE community = h.community_id AND effective_from <= p_now
        ORDER BY effective_from DESC, version DESC LIMIT 1))
        ORDER BY effective_from DESC, version DESC LIMIT 1;
    v_version := COALESCE(v_version, 0);
    SELECT id INTO STRICT v_stripe FROM account
        WHERE community = h.community_id AND kind = 'issuance' AND stripe = p_stripe;
    FOR r IN SELECT id, balance_points FROM account WHERE id = ANY(ARRAY[v_stripe, h.account])
        ORDER BY id FOR UPDATE
    LOOP
        IF r.id = h.account THEN balance := r.balance_points + p_points;
        ELSE v_stripe_after := r.balance_points - p_points; END IF;
    END LOOP;
    PERFORM 1 FROM inspection WHERE household = ANY(ARRAY[p_household])
        AND local_day = ANY(ARRAY[p_day]) AND scored AND stream = p_stream;
    IF FOUND THEN RAISE EXCEPTION 'already scored'; END IF;
    SELECT nextval(pg_get_serial_sequence('entry', 'id')),
        nextval(pg_get_serial_sequence('inspection', 'id')) INTO v_entry, v_inspection;
    WITH w0 AS (
        UPDATE account SET balance_points = account.balance_points + d.delta
        FROM unnest(ARRAY[v_stripe, h.account], ARRAY[-p_points, p_points]) AS d(id, delta)
        WHERE account.id = d.id
    ), w1 AS (
        INSERT INTO entry (id, community_id, debit_account_id, credit_account_id,
            amount_points, kind, debit_balance_after, credit_balance_after, event_id,
            reverses_entry_id, rule_version, actor, memo, created_at, captured_at)
        VALUES (v_entry, h.community_id, v_stripe, h.account, p_points, 'inspection',
            v_stripe_after, balance, p_event, NULL, v_version, p_actor, p_stream || ' good',
            p_now, NULL)
    ), w2 AS (
        INSERT INTO entry_unsealed (entry_id) VALUES (v_entry)
    ), w3 AS (
        INSERT INTO lot (account_id, entry_id, points, remaining_points, expires_on, created_at)
        VALUES (h.account, v_entry, p_points, p_points, p_expires, p_now)
    ), w4 AS (
        INSERT INTO lot_total (account_id, expires_on, points)
        VALUES (h.account, p_expires, p_points)
        ON CONFLICT (account_id, expires_on)
        DO UPDATE SET points = lot_total.points + excluded.points
    ), w5 AS (
        INSERT INTO board_fact (community_id, kind, payload, local_day, created_at) VALUES
        (h.community_id, 'earned',
            json_build_object('account', h.account, 'delta', p_points)::text, p_day, p_now),
        (h.community_id, 'grade',
            json_build_object('compound', h.compound, 'good', 1, 'graded', 1)::text, p_day,
            p_now),
        (h.community_id, 'participation',
            json_build_object('compound', h.compound, 'household', p_household)::text, p_day,
            p_now)
    ), w6 AS (
        INSERT INTO inspection (id, community_id, compound, household, point, inspector,
            stream, grade, final_grade, reasons, photo_ref, local_day, scored, points_awarded,
            entry_id, rule_version, created_at, dropoff_id)
        VALUES (v_inspection, h.community_id, h.compound, p_household, pt.id, p_inspector,
            p_stream, 'good', 'good', '', '', p_day, true, p_points, v_entry, v_version, p_now,
            NULL)
    )
    INSERT INTO idempotency_record (event_id, operation, fingerprint, outcome, result,
        created_at, actor, role, inputs)
    VALUES (p_event, 'inspection', md5(p_event) || md5(p_event), 'ok',
        json_build_object('balance_points', balance, 'entry_id', v_entry, 'inspection_id',
            v_inspection, 'points_awarded', p_points)::text, p_now, p_actor, 'inspector',
        json_build_object('grade', 'good', 'stream', p_stream)::text)
    ON CONFLICT (event_id) DO NOTHING;
    IF NOT FOUND THEN RAISE EXCEPTION 'claimed'; END IF;
    entry := v_entry;
    RETURN NEXT;
END $$
"""

# 3 statements per credit (the reads, the lock then the grades with the ids, the claim carrying
# every write) + BEGIN + COMMIT; no reset on release. A stripe's first credit adds the read of
# the stripe's account id.
STATEMENTS_PER_CREDIT = 3
ROUND_TRIPS = STATEMENTS_PER_CREDIT + 2


@contextlib.asynccontextmanager
async def _transaction(db: asyncpg.Connection) -> AsyncIterator[None]:
    """BEGIN as the grading committer sends it (with generic plans, one round trip), then
    COMMIT, or ROLLBACK on an error."""
    await db.execute(GENERIC_PLANS_BEGIN)
    try:
        yield
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")


class Floor:
    def __init__(self, pool: asyncpg.Pool, fixture: dict[str, Any], households: list[Any]) -> None:
        self.pool = pool
        self.households = households
        self.points = fixture["points"]
        self.inspector = fixture["inspector"]
        self.run = uuid.uuid4().hex[:8]
        self.stripes: dict[tuple[int, int], int] = {}

    async def credit(self, index: int) -> common.Outcome:
        (household_id, _, compound_id, _), round_, expected = common.slot(self.households, index)
        point_id = self.points[str(compound_id)][0]
        stream = common.STREAMS[round_]
        event_id = f"floor-{self.run}-{index}"
        now = datetime.now(UTC)
        day = local_day(now)
        async with self.pool.acquire() as db, _transaction(db):
            read = await db.fetch(SQL["reads"], [event_id], [household_id], [point_id], now, now)
            parts: dict[str, list[Any]] = {}
            for row in read:
                parts.setdefault(row["part"], []).append(row)
            if parts.get("record"):
                return 0, "replayed: a fresh event id was found"
            households, points = parts.get("household", []), parts.get("point", [])
            if len(households) != 1 or len(points) != 1:
                return 0, "rows: the household or the point was not found"
            household, point = households[0], points[0]
            if household["card_serial"] != 1 or point["card_serial"] != 1:
                return 0, "card: serial changed"
            community = household["community_id"]
            in_force = [
                (r["effective_from"], r["version"])
                for r in parts.get("rule", [])
                if r["community_id"] == community and r["effective_from"] <= now
            ]
            version = max(in_force, default=(now, 0))[1]
            stripe_no = issuance_stripe(event_id)
            stripe = self.stripes.get((community, stripe_no))
            if stripe is None:
                rows = await db.fetch(SQL["stripe"], community, "issuance", stripe_no)
                stripe = self.stripes[(community, stripe_no)] = rows[0]["id"]
            account = household["account"]
            (today,) = await db.fetch(
                SQL["lock_and_grades"], sorted({account, stripe}), [household_id], [day], 1, 1
            )
            balances = dict(zip(today["locked_ids"], today["locked_balances"], strict=True))
            if set(balances) != {account, stripe}:
                return 0, "lock: an account was not found"
            graded = zip(today["day_streams"] or [], today["day_scored"] or [], strict=True)
            if any(scored and graded_stream == stream for graded_stream, scored in graded):
                return 0, "cap: this pair already scored today"
            (entry_id,), (inspection_id,) = today["entry_ids"], today["inspection_ids"]
            award = common.GRADE_POINTS_GOOD
            balance, stripe_after = balances[account] + award, balances[stripe] - award
            if balance != expected:
                return 0, f"balance: {balance} after the credit, expected {expected}"
            moved = sorted({stripe: -award, account: award}.items())
            expires = lot_expiry(now)
            compound = household["compound"]
            facts = [
                (community, "earned", _json({"account": account, "delta": award})),
                (community, "grade", _json({"compound": compound, "graded": 1, "good": 1})),
                (
                    community,
                    "participation",
                    _json({"compound": compound, "household": household_id}),
                ),
            ]
            result = {
                "inspection_id": inspection_id,
                "entry_id": entry_id,
                "points_awarded": award,
                "balance_points": balance,
                "scored": True,
                "capped": False,
                "message": "credited",
            }
            actor = self.inspector["username"]
            claimed = await db.fetch(
                SQL["claim"],
                # the claims (idempotency.claim_many)
                [event_id],
                ["inspection"],
                [hashlib.sha256(event_id.encode()).hexdigest()],
                ["ok"],
                [_json(result)],
                now,
                [actor],
                ["inspector"],
                [_json({"stream": stream, "grade": "good"})],
                # the move (batch_writes.move_points)
                [account_id for account_id, _ in moved],
                [delta for _, delta in moved],
                # the entry and its sealer mark (batch_writes.append_entries)
                *([entry_id], [community], [stripe], [account], [award], ["inspection"]),
                *([stripe_after], [balance], [event_id], [None], [version], [actor]),
                *([f"{stream} good"], [now], [None]),
                [entry_id],
                # the lot and its total (lots.open_many)
                *([account], [entry_id], [award], [expires], [now]),
                *([account], [expires], [award]),
                # the facts (batch_writes.record_facts)
                *(list(column) for column in zip(*((*f, day, now) for f in facts), strict=True)),
                # the inspection (batch_writes.append_inspections)
                *([inspection_id], [community], [compound], [household_id], [point_id]),
                *([self.inspector["id"]], [stream], ["good"], [""], [""], [day], [True]),
                *([award], [entry_id], [version], [now], [None]),
            )
            if [row["event_id"] for row in claimed] != [event_id]:
                return 0, "claim: the event id was taken"
        return 1, None

    async def credit_one_trip(self, index: int) -> common.Outcome:
        (household_id, _, compound_id, _), round_, expected = common.slot(self.households, index)
        event_id = f"floor1-{self.run}-{index}"
        now = datetime.now(UTC)
        async with self.pool.acquire() as db:
            rows = await db.fetch(
                "SELECT balance, entry FROM bench_graded_credit"
                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                event_id,
                household_id,
                self.points[str(compound_id)][0],
                common.STREAMS[round_],
                self.inspector["id"],
                self.inspector["username"],
                now,
                local_day(now),
                lot_expiry(now),
                issuance_stripe(event_id),
                common.GRADE_POINTS_GOOD,
            )
        if rows[0]["balance"] != expected:
            return 0, f"balance: {rows[0]['balance']} after the credit, expected {expected}"
        return 1, None


async def no_reset(connection: asyncpg.Connection) -> None:
    """No `RESET ALL` on release, as in the ledger's pool (ledger/store/engine.py)."""


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


async def consistency(db: asyncpg.Connection, credited: int) -> dict[str, Any]:
    """The ledger's own invariants, checked on what the floor wrote."""
    row = await db.fetchrow(
        "SELECT (SELECT COUNT(*) FROM entry) AS entries,"
        " (SELECT COALESCE(SUM(balance_points), 0) FROM account) AS balance_sum,"
        " (SELECT COALESCE(SUM(balance_points), 0) FROM account WHERE kind = 'household')"
        "   AS household_points,"
        " (SELECT COALESCE(SUM(remaining_points), 0) FROM lot) AS lot_points,"
        " (SELECT COALESCE(SUM(points), 0) FROM lot_total) AS lot_total_points,"
        " (SELECT COUNT(*) FROM idempotency_record WHERE event_id NOT LIKE $1) AS claims,"
        " (SELECT COUNT(*) FROM board_fact) AS facts",
        f"{common.PAST_PREFIX}%",
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
    pool = await asyncpg.create_pool(
        common.pg_url(args.db), min_size=1, max_size=10, reset=no_reset
    )
    assert pool is not None
    households = fixture["households"]
    half = len(households) // 2
    try:
        floor = Floor(pool, fixture, households[:half])
        with common.CaptureStatements() as captured:
            captured_outcome = await floor.credit(-1)
        assert captured_outcome == (1, None), captured_outcome
        summary = await timed(pool, args, floor.credit)
        one_trip = Floor(pool, fixture, households[half:])
        async with pool.acquire() as db:
            await db.execute(ONE_TRIP_FUNCTION)
        one_trip_summary = await timed(pool, args, one_trip.credit_one_trip)
        async with pool.acquire() as db:
            credited = await db.fetchval(
                "SELECT COUNT(*) FROM idempotency_record WHERE event_id NOT LIKE $1",
                f"{common.PAST_PREFIX}%",
            )
            checked = await consistency(db, credited)
    finally:
        await pool.close()
    summary |= {
        "round_trips_per_credit": ROUND_TRIPS,
        "statements": captured.shapes(),
        "statement_texts": captured.statements,
        "consistency": checked,
        "one_round_trip": one_trip_summary,
    }
    summary["all_ok"] = (
        summary["all_ok"] and one_trip_summary["all_ok"] and all(checked["checks"].values())
    )
    return summary


async def timed(pool: asyncpg.Pool, args: argparse.Namespace, operation: Any) -> dict[str, Any]:
    pg_before, own_before = await common.backend_cpu(args.db), time.process_time()
    tally, wall = await common.run_timed(
        operation, concurrency=args.concurrency, warmup_s=args.warmup, duration_s=args.duration
    )
    cpu = common.cpu_per_operation(
        tally.issued, time.process_time() - own_before, await common.backend_cpu(args.db), pg_before
    )
    return tally.summary(wall) | {"concurrency": args.concurrency, "cpu_ms_per_credit": cpu}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=common.CONCURRENCY_SERVICE)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", default="floor")
    args = parser.parse_args()
    result = common.run_and_write(args.out, main_async(args))
    one = result["one_round_trip"]
    common.log(
        f"floor: {result['per_s']}/s p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms; "
        f"in one round trip {one['per_s']}/s p50 {one['p50_ms']} ms; ok={result['all_ok']}"
    )


if __name__ == "__main__":
    main()
