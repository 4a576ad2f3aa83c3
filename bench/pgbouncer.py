"""What PgBouncer (transaction mode) costs per credit: a timing script, not a test.

    python -m bench.pgbouncer [--duration 8] [--rounds 2]

Seeds `bench_pgb_seed` once (bench/seed.py), then, per round, runs the ledger-service phase
(bench/service.py: `Gradings.inspect`, 8 tasks, a pool of 10) on a fresh copy three ways:

- `direct`: asyncpg straight to PostgreSQL, its statement cache on (the default);
- `direct, cache off`: the same with GREENLEDGER_PGBOUNCER=1, i.e. statement_cache_size=0,
  which prices the cache apart from the extra hop;
- `pgbouncer`: through PgBouncer 1.18 (pool_mode = transaction, default_pool_size 10) on a
  private port, with GREENLEDGER_PGBOUNCER=1, as deployed.

Prints credits/s, p50/p99 and CPU per credit (this process, the PostgreSQL backends, and
PgBouncer itself). Needs PostgreSQL on 127.0.0.1:5432 and /usr/sbin/pgbouncer; uses only
bench_pgb* databases. The figures go to docs/OPERATIONS.md ("PgBouncer").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import OUT, ROOT, drop_database, log, process_cpu_seconds, recreate_database

SEED, RUN = "bench_pgb_seed", "bench_pgb"
MODES = ("direct", "direct, cache off", "pgbouncer")


def _service(mode: str, fixture: Path, duration: float, url: str | None) -> dict[str, Any]:
    out = f"pgb-{mode.replace(', ', '-').replace(' ', '-')}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLEDGER_")}
    if mode != "direct":
        env["GREENLEDGER_PGBOUNCER"] = "1"
    command = [sys.executable, "-m", "bench.service", "--db", RUN, "--fixture", str(fixture),
               "--duration", str(duration), "--no-verify", "--out", out]  # fmt: skip
    if url is not None:
        command += ["--database-url", url]
    subprocess.run(command, env=env, cwd=ROOT, check=True)  # noqa: S603
    result: dict[str, Any] = json.loads((OUT / f"{out}.json").read_text())
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--households", type=int, default=4_000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.past_one_box import PgBouncerProcess

    fixture = OUT / "pgb-fixture.json"
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.seed", "--db", SEED, "--households", str(args.households),
         "--compounds", "8", "--fixture", str(fixture)],
        cwd=ROOT, check=True,
    )  # fmt: skip
    bouncer = PgBouncerProcess(5432, pool_size=10)
    bouncer.start()
    rows: list[tuple[str, dict[str, Any], float]] = []
    try:
        for round_ in range(args.rounds):
            for mode in MODES:
                asyncio.run(recreate_database(RUN, template=SEED))
                url = bouncer.url(RUN) if mode == "pgbouncer" else None
                assert bouncer.process is not None
                before = process_cpu_seconds(bouncer.process.pid)
                result = _service(mode, fixture, args.duration, url)
                bouncer_ms = 1000 * (process_cpu_seconds(bouncer.process.pid) - before)
                credits = max(int(result.get("issued_with_warmup") or 1), 1)
                assert result["all_ok"], result["first_failure"]
                rows.append((mode, result, bouncer_ms / credits))
                log(f"round {round_ + 1}: {mode}: {result['per_s']}/s")
    finally:
        bouncer.stop()
        asyncio.run(drop_database(RUN))
        asyncio.run(drop_database(SEED))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores")
    print("| mode | credits/s | p50 ms | p99 ms | CPU ms/credit: Python | PostgreSQL | PgBouncer |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for mode, result, bouncer_ms in rows:
        cpu = result.get("cpu_ms_per_credit") or {}
        shown = f"{bouncer_ms:.3f}" if mode == "pgbouncer" else "—"
        print(
            f"| {mode} | {result['per_s']} | {result['p50_ms']} | {result['p99_ms']} | "
            f"{cpu.get('this_process')} | {cpu.get('postgres')} | {shown} |"
        )


if __name__ == "__main__":
    main()
