"""The ledger service: graded credits through `Services.scans.inspect`, 8 concurrent tasks.

    python -m bench.service --db bench_gl --fixture var/bench/fixture.json --slice 0:20000

The same call the HTTP handler makes, on the same pool (10 connections), with one fresh
event id per credit and a (household, stream) pair that scores, so every reply must say
10 points, scored, an entry id, and the balance the household must have after it. Afterwards
the ledger's own `verify` checks conservation, balances against entries, lots against
balances. `--profile` leaves the loop running under the caller's profiler for longer.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from bench import committer
from bench.common import (
    CONCURRENCY_SERVICE,
    STREAMS,
    CaptureStatements,
    Outcome,
    backend_cpu,
    check_credit_reply,
    configure_in_process,
    cpu_per_operation,
    log,
    pg_url,
    run_and_write,
    run_timed,
    slot,
)


def parse_slice(text: str) -> slice:
    start, _, end = text.partition(":")
    return slice(int(start or 0), int(end) if end else None)


async def main_async(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    from api.settings import Settings
    from ledger.domain.access import Principal, Role
    from ledger.domain.rules import Grade, Stream
    from ledger.services.container import Services
    from ledger.services.grading import Grading

    fixture = json.loads(args.fixture.read_text())
    households = fixture["households"][parse_slice(args.slice)]
    points = fixture["points"]
    settings = Settings.from_env()
    services = Services.build(settings.keyring(), settings.base_url)
    inspector = Principal(
        user_id=fixture["inspector"]["id"],
        username=fixture["inspector"]["username"],
        role=Role.INSPECTOR,
        compound_ids=frozenset(fixture["compounds"]),
    )
    run = uuid.uuid4().hex[:8]

    async def credit(index: int) -> Outcome:
        (_, _, compound_id, token), round_, expected = slot(households, index)
        result = await services.gradings.inspect(
            inspector,
            Grading(
                f"svc-{run}-{index}",
                token,
                points[str(compound_id)][1],
                Stream(STREAMS[round_]),
                Grade.GOOD,
                [],
                None,
            ),
        )
        return check_credit_reply(result.record(), expected)

    await services.db.start()
    try:
        # One credit with every statement recorded (the floor must send the same ones), to
        # the slice's last household, which the timed run leaves alone.
        with CaptureStatements() as captured:
            captured_outcome = await credit(-1)
        log("service: timed loop starting")  # bench/profile.py attaches py-spy after this
        pg_before = await backend_cpu(args.db) if args.db else {}
        metrics_before = generate_latest().decode()
        own_before = time.process_time()
        tally, wall = await run_timed(
            credit,
            concurrency=args.concurrency,
            warmup_s=args.warmup,
            duration_s=args.duration,
        )
        own = time.process_time() - own_before
        committed = committer.phase_stats(metrics_before, generate_latest().decode())
        pg_after = await backend_cpu(args.db) if args.db else {}
        cpu = cpu_per_operation(tally.issued, own, pg_after, pg_before)
        verified = await services.verifier.verify() if args.verify else None
    finally:
        await services.db.close()
    summary = tally.summary(wall)
    summary |= {
        "concurrency": args.concurrency,
        "database_url": database_url,
        "statements": captured.shapes(),
        "statement_texts": captured.statements,
        "captured_credit_ok": captured_outcome == (1, None),
        "cpu_ms_per_credit": cpu,
        "grading_committer": committed,  # this process's own metrics, warm-up included
    }
    if verified is not None:
        checks = {c.name: c.ok for c in verified.checks}
        summary["verify"] = {"entries": verified.entries, "checks": checks}
        summary["all_ok"] = summary["all_ok"] and all(checks.values())
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--db")
    target.add_argument("--sqlite", type=Path)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--slice", default="0:")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY_SERVICE)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--no-verify", dest="verify", action="store_false")
    parser.add_argument("--out", default="service")
    parser.add_argument(
        "--database-url", help="reach --db another way (bench/pgbouncer.py: through PgBouncer)"
    )
    args = parser.parse_args()
    database_url = args.database_url or (pg_url(args.db) if args.db else str(args.sqlite))
    configure_in_process(database_url, redis=False)
    result = run_and_write(args.out, main_async(args, database_url))
    log(
        f"{args.out}: {result['per_s']}/s p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms "
        f"ok={result['all_ok']} {result['first_failure'] or ''}"
    )


if __name__ == "__main__":
    main()
