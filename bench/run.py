"""`make bench`: every phase of issues 7 and 16 in one run, then one table (bench/report.py).

    python -m bench                 # the whole run (about 10-15 minutes on 2 cores)
    python -m bench --quick         # short phases and growth to 10^6 only (a smoke test)

Order: seed (and the counter's households, clerks and reward on the service/HTTP database) ->
floor -> ledger service -> HTTP (health ceiling, inspections, batch, account reads, board
reads, redemptions at the counter) -> verify -> django-hordak -> growth -> embedded SQLite ->
report. Each phase is a child process writing var/bench/<phase>.json; a phase that fails is
reported as failed and the run goes on. Before each phase the machine's background load is
sampled, since other work on these two cores distorts every figure. After each HTTP phase the
run records each server worker's resident set; around the inspections and batch phases, what
the grading committer's histograms on /metrics gained (bench/committer.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import committer
from bench.common import (
    CONNECTIONS_HTTP,
    GRADE_POINTS_GOOD,
    HTTP_PORT,
    OUT,
    ROOT,
    SPENDING_CLERKS,
    SQLITE_PORT,
    CpuMeter,
    app_env,
    backend_cpu,
    cpu_delta,
    drop_database,
    log,
    pg_url,
    read_result,
    recreate_database,
    write_result,
)
from bench.server import Server

PYTHON = sys.executable
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
PEERS_DIR = ROOT.parent / "shared" / "peers"
SEED_DB, MAIN_DB, FLOOR_DB, GROWTH_DB, HORDAK_DB = (
    "bench_seed",
    "bench_gl",
    "bench_floor",
    "bench_growth",
    "bench_hordak",
)
FIXTURE = OUT / "fixture.json"
SPENDING_FIXTURE = OUT / "fixture-spending.json"
SPENDING_HOUSEHOLDS = 1000
CLERK_TOKENS = OUT / "clerk-tokens.json"
# HTTP phases around which the grading committer's histograms are read from /metrics.
COMMITTER_PHASES = ("http_inspections", "http_batch")
SQLITE_FIXTURE = OUT / "fixture-sqlite.json"
SQLITE_FILE = OUT / "embedded.sqlite"
# (first, end) of the seeded households each phase on the shared database may use.
SERVICE_SLICE, HTTP_SLICE, BATCH_SLICE = "0:20000", "20000:40000", "40000:60000"


QUIET_CORES = 0.5


def background_cores(seconds: float = 1.0) -> float:
    """Cores busy while no phase runs: other people's work on this machine."""
    meter = CpuMeter()
    time.sleep(seconds)
    return meter.read()["machine_cores_busy"]


def wait_for_quiet(limit_s: float) -> float:
    """Wait up to `limit_s` for the machine to fall below QUIET_CORES of background load;
    returns the last sample (phases start anyway, and the report shows the load)."""
    deadline = time.monotonic() + limit_s
    idle = background_cores()
    while idle > QUIET_CORES and time.monotonic() < deadline:
        idle = background_cores(2.0)
    return idle


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.phases: dict[str, dict[str, Any]] = {}

    def seconds(self, full: float) -> str:
        return str(min(full, 3.0) if self.quick else full)

    def child(self, name: str, module: str, *arguments: str, python: str = PYTHON) -> bool:
        """Run one phase's process; its JSON result lands in var/bench/<name>.json."""
        idle = wait_for_quiet(self.args.quiet_wait)
        started = time.perf_counter()
        log(f"{name}: starting (background load {idle} cores)")
        completed = subprocess.run(  # noqa: S603 (our own modules, fixed arguments)
            [python, "-m", module, *arguments, "--out", name], cwd=ROOT, check=False
        )
        elapsed = time.perf_counter() - started
        self.phases[name] = {
            "exit_code": completed.returncode,
            "elapsed_s": round(elapsed, 1),
            "background_cores_before": idle,
        }
        if completed.returncode != 0:
            log(f"{name}: FAILED with exit code {completed.returncode}")
            return False
        return True

    def seed(self) -> None:
        log("seed: a migrated database with 60,000 households in 120 compounds")
        seeded = self.child(
            "seed",
            "bench.seed",
            "--db",
            SEED_DB,
            "--households",
            "60000",
            "--compounds",
            "120",
            "--fixture",
            str(FIXTURE),
        )
        if not seeded:
            raise SystemExit("seeding failed; every other phase needs it")
        asyncio.run(_clone(SEED_DB, (MAIN_DB, FLOOR_DB, GROWTH_DB)))
        # The counter, on the service/HTTP database only: the floor's consistency checks and
        # the growth's history count what a credit writes, and nothing else.
        SPENDING_FIXTURE.unlink(missing_ok=True)
        self.child(
            "seed_spending",
            "bench.seed",
            "--db",
            MAIN_DB,
            "--spending",
            str(SPENDING_HOUSEHOLDS),
            "--fixture",
            str(FIXTURE),
            "--spending-fixture",
            str(SPENDING_FIXTURE),
        )
        # Months of past gradings where a credit reads by key, as a database in use holds
        # (bench/past.py says why); not in the growth's copy, which loads its own history.
        for name, database in (("past", MAIN_DB), ("past_floor", FLOOR_DB)):
            self.child(name, "bench.past", "--db", database, "--fixture", str(FIXTURE))

    def floor(self) -> None:
        self.child(
            "floor",
            "bench.floor",
            "--db",
            FLOOR_DB,
            "--fixture",
            str(FIXTURE),
            "--duration",
            self.seconds(10),
        )

    def service(self) -> None:
        if self.child(
            "service",
            "bench.service",
            "--db",
            MAIN_DB,
            "--fixture",
            str(FIXTURE),
            "--slice",
            SERVICE_SLICE,
            "--duration",
            self.seconds(10),
        ):
            # The committer's group sizes and waits, from the phase's own process.
            found = read_result("service").get("grading_committer")
            self.phases["service"]["grading_committer"] = found

    def http(self) -> None:
        url = pg_url(MAIN_DB)
        # Seal what the service phase wrote and project it, so the server starts level.
        subprocess.run(  # noqa: S603
            [str(ROOT / ".venv/bin/greenledger"), "rebuild-projections"],
            env=app_env(url),
            cwd=ROOT,
            check=False,
            capture_output=True,
        )
        expected = _expected_balances()
        with Server(url, HTTP_PORT, workers=2) as server:
            common = ["--port", str(HTTP_PORT), "--fixture", str(FIXTURE)]
            plan: list[tuple[str, list[str]]] = [
                ("http_health", ["--mode", "health", "--duration", self.seconds(5)]),
                (
                    "http_inspections",
                    [
                        "--mode",
                        "inspections",
                        "--slice",
                        HTTP_SLICE,
                        "--duration",
                        self.seconds(10),
                    ],
                ),
                (
                    "http_batch",
                    [
                        "--mode",
                        "batch",
                        "--slice",
                        BATCH_SLICE,
                        "--connections",
                        "8",
                        "--warmup",
                        "0",
                        "--duration",
                        "30",
                        "--max-requests",
                        "8" if self.quick else "48",
                        "--batch-size",
                        "1000",
                    ],
                ),
                (
                    "http_account",
                    ["--mode", "account", "--slice", SERVICE_SLICE, "--duration", self.seconds(10)]
                    + (["--expect-balances", str(expected)] if expected else []),
                ),
                (
                    "http_board",
                    [
                        "--mode",
                        "board",
                        "--scope-id",
                        str(_board_compound()),
                        "--expect-source",
                        "redis",
                        "--duration",
                        self.seconds(10),
                    ],
                ),
            ]
            if SPENDING_FIXTURE.exists():
                plan.append(
                    (
                        "http_redemptions",
                        [
                            "--mode",
                            "redemptions",
                            "--spending-fixture",
                            str(SPENDING_FIXTURE),
                            "--connections",
                            str(SPENDING_CLERKS),
                            "--duration",
                            self.seconds(10),
                        ],
                    )
                )
            else:
                log("http_redemptions: no counter was seeded (seed_spending failed); skipped")
            for name, arguments in plan:
                scraped = server.metrics() if name in COMMITTER_PHASES else None
                stock = None
                if name == "http_redemptions":
                    try:
                        arguments += ["--tokens", str(_clerk_tokens())]
                    except (SystemExit, OSError) as error:  # sign_in exits with the reply
                        log(f"{name}: FAILED: the clerks could not sign in: {error}")
                        self.phases[name] = {"exit_code": 1, "error": str(error)}
                        continue
                    stock = asyncio.run(_stock(MAIN_DB))
                before, pg_before = server.cpu_seconds(), asyncio.run(backend_cpu(MAIN_DB))
                ok = self.child(name, "bench.loadgen", *common, *arguments)
                if ok:
                    used = server.cpu_seconds() - before
                    pg_used = cpu_delta(pg_before, asyncio.run(backend_cpu(MAIN_DB)))
                    self.phases[name] |= _cpu_per_unit(name, used, pg_used)
                self.phases[name]["worker_rss_mb"] = server.worker_rss_mb()
                if name in COMMITTER_PHASES:
                    self.phases[name]["grading_committer"] = committer.phase_stats(
                        scraped, server.metrics()
                    )
                if ok and stock is not None:
                    _check_stock(name, stock, asyncio.run(_stock(MAIN_DB)))
            CLERK_TOKENS.unlink(missing_ok=True)
        self.verify(url)

    def verify(self, url: str) -> None:
        """The ledger's own proof over everything the run wrote (what the server's sealer has
        not sealed yet is checked as pending)."""
        started = time.perf_counter()
        # Fresh statistics first, as autovacuum would eventually give them: with the stats of
        # the empty seeded tables, verify's folds become nested loops (docs/BENCHMARKS.md).
        asyncio.run(_analyze(MAIN_DB))
        completed = subprocess.run(  # noqa: S603
            [str(ROOT / ".venv/bin/greenledger"), "verify"],
            env=app_env(url),
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
        )
        result = {
            "exit_code": completed.returncode,
            "ok": completed.returncode == 0,
            "output": completed.stdout.strip().splitlines()[-8:],
            "elapsed_s": round(time.perf_counter() - started, 1),
        }
        write_result("verify", result)
        log(f"verify: {'ok' if result['ok'] else 'FAILED'} ({result['elapsed_s']} s)")

    def peer(self) -> None:
        if not PEERS_PYTHON.exists():
            log(f"peer: {PEERS_PYTHON} is missing (make bench creates it); skipped")
            return
        jsonl = OUT / "peers.jsonl"
        jsonl.unlink(missing_ok=True)
        idle = wait_for_quiet(self.args.quiet_wait)
        started = time.perf_counter()
        log(f"peer: django-hordak, 8 workers (background load {idle} cores)")
        # The harness's defaults (10,000 credits, 1,000 users) as in the peers' figures;
        # fewer balance reads, which this table does not use.
        arguments = ["--peer", "hordak", "--db", HORDAK_DB, "--workers", "8", "--reads", "2000"]
        if self.quick:
            arguments += ["--transfers", "2000", "--reads", "1000"]
        completed = subprocess.run(  # noqa: S603
            [str(PEERS_PYTHON), str(PEERS_DIR / "ledger_bench.py"), *arguments],
            cwd=ROOT,
            env={
                **app_env(pg_url(HORDAK_DB)),
                "PYTHONPATH": str(PEERS_DIR),
                "BENCH_OUT": str(jsonl),
            },
            check=False,
        )
        self.phases["peer_hordak"] = {
            "exit_code": completed.returncode,
            "elapsed_s": round(time.perf_counter() - started, 1),
            "background_cores_before": idle,
        }
        if completed.returncode == 0 and jsonl.exists():
            write_result("peer_hordak", json.loads(jsonl.read_text().splitlines()[-1]))
        asyncio.run(drop_database(HORDAK_DB))

    def growth(self) -> None:
        sizes = "10000,1000000" if self.quick else self.args.growth_sizes
        self.child(
            "growth",
            "bench.growth",
            "--db",
            GROWTH_DB,
            "--fixture",
            str(FIXTURE),
            "--sizes",
            sizes,
            "--read-seconds",
            "2" if self.quick else "4",
        )
        asyncio.run(drop_database(GROWTH_DB))  # about 10 GB at 10^7 entries

    def embedded(self) -> None:
        seeded = self.child(
            "seed_sqlite",
            "bench.seed",
            "--sqlite",
            str(SQLITE_FILE),
            "--households",
            "8000",
            "--compounds",
            "16",
            "--fixture",
            str(SQLITE_FIXTURE),
        )
        if not seeded:
            return
        with Server(str(SQLITE_FILE), SQLITE_PORT, workers=1, redis=False) as server:
            before = server.cpu_seconds()
            ok = self.child(
                "sqlite_inspections",
                "bench.loadgen",
                "--port",
                str(SQLITE_PORT),
                "--fixture",
                str(SQLITE_FIXTURE),
                "--mode",
                "inspections",
                "--connections",
                str(CONNECTIONS_HTTP),
                "--duration",
                self.seconds(10),
            )
            if ok:
                used = server.cpu_seconds() - before
                self.phases["sqlite_inspections"] |= _cpu_per_unit("sqlite_inspections", used, None)
            self.phases["sqlite_inspections"]["worker_rss_mb"] = server.worker_rss_mb()


def _cpu_per_unit(name: str, server_s: float, postgres_s: float | None) -> dict[str, Any]:
    """Server and PostgreSQL CPU per request (per event for the batch), warm-up included."""
    result = read_result(name)
    units = int(result["issued_with_warmup"]) * int(result.get("units_per_op", 1))
    return {
        "server_cpu_s": round(server_s, 1),
        "server_cpu_ms_per_unit": round(1000 * server_s / units, 3) if units else None,
        "postgres_cpu_ms_per_unit": (
            round(1000 * postgres_s / units, 3) if units and postgres_s is not None else None
        ),
    }


def _clerk_tokens() -> Path:
    """The counter's clerks signed in (a session each) before the phase's CPU is counted."""
    from bench.loadgen import sign_in_clerks

    counter = json.loads(SPENDING_FIXTURE.read_text())
    tokens = asyncio.run(sign_in_clerks("127.0.0.1", HTTP_PORT, counter))
    CLERK_TOKENS.write_text(json.dumps(tokens))
    return CLERK_TOKENS


async def _stock(database: str) -> dict[str, int]:
    """The counter's reward: its stock, and its redemptions (rows, and the quantity of those
    not refunded), read from the database the server writes."""
    import asyncpg

    counter = json.loads(SPENDING_FIXTURE.read_text())
    db = await asyncpg.connect(pg_url(database))
    try:
        row = await db.fetchrow(
            "SELECT (SELECT stock FROM reward WHERE id = $1) AS stock,"
            " (SELECT COUNT(*) FROM redemption WHERE reward = $1) AS rows,"
            " (SELECT COALESCE(SUM(quantity), 0) FROM redemption"
            "   WHERE reward = $1 AND status = 'done') AS redeemed",
            counter["reward_id"],
        )
    finally:
        await db.close()
    return {"stock": row["stock"], "rows": row["rows"], "redeemed": row["redeemed"]}


def _check_stock(name: str, before: dict[str, int], after: dict[str, int]) -> None:
    """Every 201 took one from the stock and left one redemption row, and no more; and over
    the reward's life, stock + redeemed = the stock it was created with."""
    result = read_result(name)
    seeded = json.loads(SPENDING_FIXTURE.read_text())["stock_seeded"]
    answered = result["redeemed_with_warmup"]
    checks = {
        "stock_taken_equals_redemptions_answered": before["stock"] - after["stock"] == answered,
        "one_row_per_redemption_answered": after["rows"] - before["rows"] == answered,
        "distinct_redemption_ids": result["distinct_redemption_ids"] == answered,
        "stock_plus_redeemed_equals_initial": after["stock"] + after["redeemed"] == seeded,
    }
    result["stock_check"] = {
        "stock_seeded": seeded,
        "before": before,
        "after": after,
        "answered": answered,
        "checks": checks,
    }
    if not all(checks.values()):
        failed = ", ".join(check for check, ok in checks.items() if not ok)
        result["all_ok"] = False
        result["failures"] = {**result.get("failures", {}), "stock": 1}
        result["first_failure"] = result.get("first_failure") or f"stock: {failed}"
    write_result(name, result)
    log(f"{name}: stock {before['stock']} -> {after['stock']}, {answered} answered: {checks}")


async def _analyze(database: str) -> None:
    import asyncpg

    db = await asyncpg.connect(pg_url(database))
    try:
        await db.execute("ANALYZE")
    finally:
        await db.close()


async def _clone(template: str, targets: tuple[str, ...]) -> None:
    for target in targets:
        await recreate_database(target, template)


def _expected_balances() -> Path | None:
    """Each service-phase household's balance: 10 points per credit the phase gave it."""
    try:
        service = read_result("service")
    except OSError:
        return None
    if not service.get("all_ok"):
        return None
    households = json.loads(FIXTURE.read_text())["households"]
    start, _, end = SERVICE_SLICE.partition(":")
    chosen = households[int(start) : int(end)]
    rotation = len(chosen) - 1  # the last one only had the recorded credit (bench.common.slot)
    issued = int(service["issued_with_warmup"])
    expected = {
        household[1]: GRADE_POINTS_GOOD * (issued // rotation + (position < issued % rotation))
        for position, household in enumerate(chosen[:rotation])
    }
    expected[chosen[-1][1]] = GRADE_POINTS_GOOD
    path = OUT / "expected-balances.json"
    path.write_text(json.dumps(expected))
    return path


def _board_compound() -> int:
    """The compound of the service phase's first households: credited first, board full."""
    compound: int = json.loads(FIXTURE.read_text())["households"][0][2]
    return compound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases, growth to 10^6")
    parser.add_argument("--growth-sizes", default="10000,1000000,10000000")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated phases (seed,floor,service,http,peer,"
        "growth,embedded); the report uses earlier results for the others",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help=f"seconds each phase waits for background load below {QUIET_CORES} cores (the "
        "sealer and projector catching up with the phase before)",
    )
    args = parser.parse_args()
    # A plain `kill` still stops the server and the load generator on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT.mkdir(parents=True, exist_ok=True)
    run = Run(args)
    started = time.perf_counter()
    order = ["seed", "floor", "service", "http", "peer", "growth", "embedded"]
    wanted = [name for name in args.only.split(",") if name] or order
    for name in order:
        if name in wanted:
            getattr(run, name)()
    elapsed = time.perf_counter() - started
    previous = _previous_run()
    run_info = {
        "phases": {**previous.get("phases", {}), **run.phases},
        "wall_s": round(elapsed, 1),
        "quick": args.quick,
        "only": wanted if args.only else None,
    }
    write_result("run", run_info)
    log(f"all phases done in {elapsed / 60:.1f} min")
    from bench.report import report

    broken = report()
    if broken:
        # Targets are reported, never asserted; a wrong reply or a failed phase is an error.
        log("FAILED checks or phases: " + ", ".join(broken))
        raise SystemExit(1)


def _previous_run() -> dict[str, Any]:
    try:
        return read_result("run")
    except OSError:
        return {}


if __name__ == "__main__":
    main()
