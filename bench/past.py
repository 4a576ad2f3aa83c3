"""Past gradings for the floor's and the service/HTTP databases: the months before this one.

    python -m bench.past --db bench_gl --fixture var/bench/fixture.json --per-household 2

Each household of a compound with a collection point (the counter's compound has none) gets
`--per-household` inspections at pseudo-random hours of the year before
the current month (Asia/Shanghai), each graded `bad` (no points) with its claim (an
idempotency record, as the inspector's app would have sent it), then `ANALYZE`.

Why: a credit reads two tables by key, `idempotency_record` (its event ids) and `inspection`
(the household's day). Seeded, they are empty when the seed's `ANALYZE` runs, so the planner
takes each for one page, and a connection's prepared statement keeps the plan it made then (a
sequential scan) while a ten-second phase fills the table with tens of thousands of rows: in
the service phase that scan was most of a group's time (docs/BENCHMARKS.md, 2026-12-07). A
database in use holds months of both, and autovacuum keeps their statistics current.

No points: balances, lots, lot totals, entries and this month's boards stay exactly what the
phases expect and check, and a past day is not today, so no (household, stream) pair the
phases hand out has scored. The claims' event ids start with `PAST_PREFIX`, so the floor's
count of its own claims leaves them out. The growth's copy gets none: it loads its own history.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import asyncpg

from bench.common import PAST_PREFIX, STREAMS, log, pg_url, write_result

HOURS_BACK = 365 * 24
PER_HOUSEHOLD = 2

INSPECTIONS = """
INSERT INTO inspection (community_id, compound, household, point, inspector, stream, grade,
    final_grade, local_day, scored, points_awarded, entry_id, rule_version, created_at)
SELECT c.community, h.compound, h.id, p.id, $1, ($4::varchar[])[1 + (h.id + k) % 4], 'bad',
    'bad', t.at::date, false, 0, NULL, $2, t.at AT TIME ZONE 'Asia/Shanghai'
FROM household h
JOIN compound c ON c.id = h.compound
JOIN LATERAL (SELECT id FROM collection_point cp WHERE cp.compound = h.compound
    ORDER BY id LIMIT 1) p ON true
CROSS JOIN generate_series(1, $3) AS k
CROSS JOIN LATERAL (SELECT date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')
    - make_interval(hours => (1 + ((h.id * 31 + k) * 7919) % $5)::int) AS at) t
ORDER BY h.id, k
"""

CLAIMS = """
INSERT INTO idempotency_record (event_id, operation, fingerprint, outcome, result, created_at,
    actor, role)
SELECT $2 || md5(i.id::text), 'inspection', md5(i.id::text) || md5(i.household::text), 'ok',
    json_build_object('balance_points', 0, 'capped', false, 'entry_id', NULL,
        'inspection_id', i.id, 'message', '', 'points_awarded', 0, 'scored', false)::text,
    i.created_at, $3, 'inspector'
FROM inspection i WHERE i.id > $1
ORDER BY 1
"""


async def add_past(
    url: str, fixture: dict[str, object], per_household: int = PER_HOUSEHOLD
) -> dict[str, float]:
    inspector = fixture["inspector"]
    assert isinstance(inspector, dict)
    started = time.perf_counter()
    db = await asyncpg.connect(url)
    try:
        async with db.transaction():
            last = await db.fetchval("SELECT COALESCE(MAX(id), 0) FROM inspection")
            await db.execute(
                INSPECTIONS,
                inspector["id"],
                fixture["rule_version"],
                per_household,
                list(STREAMS),
                HOURS_BACK,
            )
            await db.execute(CLAIMS, last, PAST_PREFIX, inspector["username"])
            added = await db.fetchval("SELECT COUNT(*) FROM inspection WHERE id > $1", last)
            claims = await db.fetchval(
                "SELECT COUNT(*) FROM idempotency_record WHERE event_id LIKE $1", f"{PAST_PREFIX}%"
            )
            households = await db.fetchval(
                "SELECT COUNT(*) FROM household h WHERE EXISTS "
                "(SELECT 1 FROM collection_point p WHERE p.compound = h.compound)"
            )
            if not added == claims == households * per_household:
                raise SystemExit(f"past: {added} inspections, {claims} claims, {households} homes")
        await db.execute("ANALYZE")
    finally:
        await db.close()
    return {"inspections": added, "elapsed_s": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--per-household", type=int, default=PER_HOUSEHOLD)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    fixture = json.loads(args.fixture.read_text())
    result = asyncio.run(add_past(pg_url(args.db), fixture, args.per_household))
    log(f"past: {result['inspections']:,} past inspections and their claims in {args.db}")
    if args.out:
        write_result(args.out, result | {"database": args.db})


if __name__ == "__main__":
    main()
