"""Bulk-loaded history for the growth phase: entries, their lots, inspections and claims.

Everything is generated inside PostgreSQL (`INSERT ... SELECT ... FROM generate_series`), in
stages, so the same database grows 10^4 -> 10^6 -> 10^7 entries. History entry g is a graded
credit of 10 points from issuance stripe g % 16 to history household g % HOUSEHOLDS, at a
pseudo-random hour in the three years before the current month (so this month's boards hold
only live credits, and Redis needs no back-fill). Each one also gets:

* its lot: open (remaining 10) while it has not expired, else 0 - and per household and stage
  one `expiry` entry moves the expired points to the community's expired account, so lots sum
  to balances as `verify` demands; the stage's open lots are added to `lot_total` at the end;
* its inspection row (same household, local day, a stream) - the table `grading_today` reads;
* its idempotency record, keyed by a UUID-like text like a real client's event id.

Balances are then moved by the sums of the stage's entries, so conservation and "balance =
fold of entries" hold. To load 10^7 rows in minutes, a stage drops the tables' secondary
indexes (those not backing a constraint) and re-creates them from their own definitions after
the rows are in, and inserts the claims in key order; the result is the same tables and indexes.
Not kept: `balance_after` on history entries (0), lot_use rows of the expiries, board facts
and seals of history (the sealer and the projector only see live credits). Foreign-key
triggers are off during the load (`session_replication_role = replica`, the usual bulk-load
switch); the rows are valid by construction.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

HISTORY_HOUSEHOLDS = 10_000
# Hours before the start of the current month (Asia/Shanghai) over which history spreads.
SPAN_HOURS = 3 * 365 * 24

PREPARE = """
CREATE TABLE IF NOT EXISTS bench_history_household AS
    SELECT (row_number() OVER (ORDER BY id) - 1)::bigint AS n, id, account, compound
    FROM household ORDER BY id LIMIT {households};
CREATE UNIQUE INDEX IF NOT EXISTS bench_history_household_n ON bench_history_household (n);
CREATE TABLE IF NOT EXISTS bench_history_stripe AS
    SELECT stripe::bigint AS n, id, community FROM account WHERE kind = 'issuance';
CREATE TABLE IF NOT EXISTS bench_history_stage (stage int PRIMARY KEY, first_entry bigint,
    last_entry bigint, entries bigint, seconds float8);
"""

ENTRIES = """
INSERT INTO entry (community_id, debit_account_id, credit_account_id, amount_points, kind,
    debit_balance_after, credit_balance_after, event_id, rule_version, actor, memo, created_at)
SELECT s.community, s.id, h.account, 10, 'inspection', 0, 0, e.event_id, 1, 'bench-history',
    'history', e.at
FROM generate_series($1::bigint, $2::bigint - 1) AS g
JOIN bench_history_household h ON h.n = g % $3
JOIN bench_history_stripe s ON s.n = g % 16
CROSS JOIN LATERAL (SELECT
    (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai')
        - make_interval(hours => (1 + (g * 7919) % $4)::int) AS at,
    'h' || md5(g::text) AS event_id) e
ORDER BY g
"""

LOTS = """
INSERT INTO lot (account_id, entry_id, points, remaining_points, expires_on, created_at)
SELECT credit_account_id, id, amount_points,
    CASE WHEN x.expires_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date
        THEN amount_points ELSE 0 END,
    x.expires_on, created_at
FROM entry
CROSS JOIN LATERAL (SELECT make_date(extract(year FROM created_at
    AT TIME ZONE 'Asia/Shanghai')::int + 1, 12, 31) AS expires_on) x
WHERE id BETWEEN $1 AND $2 AND memo = 'history'
"""

# The stage's lots into lot_total (the balance read's points per expiry date), as the ledger
# keeps it with every lot: added to the totals of earlier stages and of live credits.
LOT_TOTALS = """
INSERT INTO lot_total (account_id, expires_on, points)
SELECT account_id, expires_on, SUM(remaining_points) FROM lot
WHERE entry_id BETWEEN $1 AND $2
GROUP BY account_id, expires_on HAVING SUM(remaining_points) > 0
ON CONFLICT (account_id, expires_on) DO UPDATE SET points = lot_total.points + excluded.points
"""

INSPECTIONS = """
INSERT INTO inspection (community_id, compound, household, point, inspector, stream, grade,
    final_grade, local_day, scored, points_awarded, entry_id, rule_version, created_at)
SELECT e.community_id, h.compound, h.id, p.id, $3,
    (ARRAY['kitchen', 'recyclable', 'hazardous', 'other'])[1 + e.id % 4], 'good', 'good',
    (e.created_at AT TIME ZONE 'Asia/Shanghai')::date, true, e.amount_points, e.id, 1,
    e.created_at
FROM entry e
JOIN household h ON h.account = e.credit_account_id
JOIN LATERAL (SELECT id FROM collection_point cp WHERE cp.compound = h.compound
    ORDER BY id LIMIT 1) p ON true
WHERE e.id BETWEEN $1 AND $2 AND e.memo = 'history'
"""

CLAIMS = """
INSERT INTO idempotency_record (event_id, operation, fingerprint, outcome, result, created_at)
SELECT event_id, 'inspection', md5(event_id) || md5(event_id), 'ok',
    '{"balance_points": 0, "capped": false, "entry_id": ' || id || ', "inspection_id": 0, '
    || '"message": "credited", "points_awarded": 10, "scored": true}', created_at
FROM entry WHERE id BETWEEN $1 AND $2 AND memo = 'history'
ORDER BY event_id
"""

EXPIRIES = """
INSERT INTO entry (community_id, debit_account_id, credit_account_id, amount_points, kind,
    debit_balance_after, credit_balance_after, event_id, rule_version, actor, memo, created_at)
SELECT e.community_id, l.account_id, x.id, SUM(l.points), 'expiry', 0, 0, NULL, NULL,
    'bench-history', 'history expiry', max(l.expires_on)::timestamptz + interval '1 day'
FROM lot l JOIN entry e ON e.id = l.entry_id
JOIN account x ON x.community = e.community_id AND x.kind = 'expired'
WHERE l.entry_id BETWEEN $1 AND $2 AND l.remaining_points = 0
GROUP BY e.community_id, l.account_id, x.id
"""

BALANCES = """
UPDATE account a SET balance_points = a.balance_points + d.delta
FROM (SELECT account_id, SUM(delta) AS delta FROM (
        SELECT credit_account_id AS account_id, amount_points AS delta FROM entry
        WHERE id BETWEEN $1 AND $2
        UNION ALL
        SELECT debit_account_id, -amount_points FROM entry WHERE id BETWEEN $1 AND $2
    ) legs GROUP BY account_id) d
WHERE a.id = d.account_id
"""


def credits_for(target_new: int, expired_fraction: float) -> int:
    """How many history credits give `target_new` entries once the expiry entries are added:
    about one expiry entry per household that has at least one expired credit in the stage."""
    low, high = 0, target_new
    while low < high:
        middle = (low + high + 1) // 2
        per_household = middle / HISTORY_HOUSEHOLDS
        expiring = HISTORY_HOUSEHOLDS * (1 - (1 - expired_fraction) ** per_household)
        if middle + expiring <= target_new:
            low = middle
        else:
            high = middle - 1
    return low


async def _expired_fraction(db: asyncpg.Connection) -> float:
    """Share of the span whose credits have expired (earned before January 1 of last year)."""
    hours: float = await db.fetchval(
        "SELECT EXTRACT(EPOCH FROM date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')"
        " - make_date(EXTRACT(YEAR FROM now() AT TIME ZONE 'Asia/Shanghai')::int - 1, 1, 1)"
        ") / 3600"
    )
    return max(0.0, (SPAN_HOURS - float(hours)) / SPAN_HOURS)


async def _run(pool: asyncpg.Pool, sql: str, *args: object) -> float:
    started = time.perf_counter()
    async with pool.acquire() as db, db.transaction():
        await db.execute("SET LOCAL session_replication_role = replica")
        await db.execute("SET LOCAL synchronous_commit = off")
        await db.execute("SET LOCAL work_mem = '256MB'")
        await db.execute(sql, *args)
    return time.perf_counter() - started


HISTORY_TABLES = ("entry", "lot", "inspection", "idempotency_record")


async def _secondary_indexes(db: asyncpg.Connection) -> list[tuple[str, str]]:
    """(name, CREATE INDEX ...) of the history tables' indexes that back no constraint."""
    rows = await db.fetch(
        "SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE t.relname = ANY($1::text[]) AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
        list(HISTORY_TABLES),
    )
    return [(row["name"], row["definition"]) for row in rows]


async def _create_index(pool: asyncpg.Pool, definition: str) -> None:
    async with pool.acquire() as db:
        await db.execute("SET maintenance_work_mem = '256MB'")
        await db.execute(definition)


async def grow_to(
    pool: asyncpg.Pool, target_entries: int, stage: int, inspector_id: int
) -> dict[str, float]:
    """Add history until the entry table holds about `target_entries` rows.

    The credits go in first; their lots, inspections and claims then load side by side on
    separate connections (two cores); the secondary indexes are re-created; the lots' totals,
    the expiries and the balance moves come last.
    """
    started = time.perf_counter()
    async with pool.acquire() as db:
        await db.execute(PREPARE.format(households=HISTORY_HOUSEHOLDS))
        present = await db.fetchval("SELECT COUNT(*) FROM entry")
        first_g = await db.fetchval("SELECT COUNT(*) FROM entry WHERE memo = 'history'")
        first_id = await db.fetchval("SELECT COALESCE(MAX(id), 0) + 1 FROM entry")
        expired_fraction = await _expired_fraction(db)
        wanted = credits_for(max(target_entries - present, 0), expired_fraction)
        if wanted == 0:
            return {"total_s": 0.0, "entries_now": float(present)}
        indexes = await _secondary_indexes(db)
        for name, _ in indexes:
            await db.execute(f'DROP INDEX "{name}"')
    timings = {
        "entries_s": await _run(
            pool, ENTRIES, first_g, first_g + wanted, HISTORY_HOUSEHOLDS, SPAN_HOURS
        )
    }
    async with pool.acquire() as db:
        last_id = await db.fetchval("SELECT COALESCE(MAX(id), 0) FROM entry")
    step = time.perf_counter()
    await asyncio.gather(
        _run(pool, LOTS, first_id, last_id),
        _run(pool, INSPECTIONS, first_id, last_id, inspector_id),
        _run(pool, CLAIMS, first_id, last_id),
    )
    timings["lots_inspections_claims_s"] = time.perf_counter() - step
    step = time.perf_counter()
    await asyncio.gather(*(_create_index(pool, definition) for _, definition in indexes))
    timings["indexes_s"] = time.perf_counter() - step
    timings["lot_totals_s"] = await _run(pool, LOT_TOTALS, first_id, last_id)
    timings["expiries_s"] = await _run(pool, EXPIRIES, first_id, last_id)
    async with pool.acquire() as db:
        final_id = await db.fetchval("SELECT COALESCE(MAX(id), 0) FROM entry")
    timings["balances_s"] = await _run(pool, BALANCES, first_id, final_id)
    step = time.perf_counter()
    tables = ("entry", "lot", "lot_total", "inspection", "idempotency_record", "account")
    await asyncio.gather(*(_vacuum(pool, table) for table in tables))
    timings["vacuum_analyze_s"] = time.perf_counter() - step
    async with pool.acquire() as db:
        entries_now = await db.fetchval("SELECT COUNT(*) FROM entry")
        await db.execute(
            "INSERT INTO bench_history_stage VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            stage,
            first_id,
            final_id,
            entries_now,
            time.perf_counter() - started,
        )
    timings["total_s"] = time.perf_counter() - started
    timings["entries_now"] = float(entries_now)
    return {k: round(v, 2) for k, v in timings.items()}


async def _vacuum(pool: asyncpg.Pool, table: str) -> None:
    async with pool.acquire() as db:
        await db.execute(f"VACUUM (ANALYZE) {table}")
