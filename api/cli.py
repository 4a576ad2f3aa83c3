"""`greenledger`: serve, work, migrate, seed-demo, user add, load, expire, verify, backup,
restore, rebuild-projections, rebuild-notices, check-projections."""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date
from pathlib import Path
from typing import Any

from api.settings import PREFIX, WILDCARD_HOSTS, ConfigError, Settings, served_base_url
from ledger.domain.access import Role
from ledger.store.engine import sqlite_path

# prometheus_client reads it when first imported: set before any worker starts.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (printed by `make run`; demo data only)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "standalone", False):  # no settings, no database (check-receipt)
        standalone: int = args.run(args)
        return standalone
    try:
        settings = Settings.from_env()
        result: int = args.run(settings, args)
        return result
    except ConfigError as error:
        print(f"greenledger: configuration error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenledger",
        description="Green Account Ledger (绿账): points for sorting and volunteering.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the web pages and the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (PostgreSQL only for >1)"
    )
    serve.add_argument(
        "--no-background",
        action="store_true",
        help=f"API only: no sealer or projector here (run `greenledger work`); "
        f"as {PREFIX}BACKGROUND=off",
    )
    serve.set_defaults(run=_serve)

    work = commands.add_parser(
        "work",
        help="run the sealer and the projector until SIGTERM (beside `serve --no-background`)",
    )
    work.set_defaults(run=lambda s, a: _run(s, _work))

    backup = commands.add_parser(
        "backup", help="SQLite: copy the live database to a new FILE (online, consistent)"
    )
    backup.add_argument("file", type=Path)
    backup.set_defaults(run=_backup)

    restore = commands.add_parser(
        "restore", help="SQLite: put a backup FILE in place of the database (service stopped)"
    )
    restore.add_argument("file", type=Path)
    restore.add_argument(
        "--replace",
        action="store_true",
        help="replace an existing database (kept beside it as *.before-restore-<time>)",
    )
    restore.set_defaults(run=_restore)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(run=lambda s, a: _run(s, _migrate))

    seed = commands.add_parser(
        "seed-demo", help="build a demo subdistrict (only into an empty database)"
    )
    seed.add_argument("--households", type=int, default=10_000)
    seed.add_argument(
        "--days",
        type=int,
        default=28,
        help="days of past gradings, hours and redemptions, each sealed on its day (0: none)",
    )
    seed.set_defaults(run=_seed_demo_command)

    user = commands.add_parser("user", help="manage users").add_subparsers(
        required=True, metavar="ACTION"
    )
    add = user.add_parser("add", help="add a user (the first admin is made this way)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument("--password", required=True)
    add.add_argument("--household", type=int, help="the household of a resident")
    add.add_argument("--volunteer", type=int, help="the volunteer record of a volunteer")
    add.add_argument(
        "--compound", type=int, action="append", default=[], help="a compound in scope (repeat)"
    )
    add.set_defaults(run=_user_add)
    unlock = user.add_parser("unlock", help="lift the sign-in locks on a username")
    unlock.add_argument("name")
    unlock.set_defaults(run=_user_unlock)

    load = commands.add_parser(
        "load", help="bulk-load households, shops, offices, points or posts from a CSV file"
    )
    load.add_argument("kind", choices=["households", "shops", "offices", "points", "posts"])
    load.add_argument("file", type=Path)
    load.set_defaults(run=lambda s, a: _run(s, _load, a.kind, a.file))

    expire = commands.add_parser(
        "expire",
        help="write expiry entries for lots past their date, then warn households of points "
        "expiring within 30 days (at most once a week each)",
    )
    expire.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="expire lots whose last valid day is before this date (default: today)",
    )
    expire.set_defaults(run=lambda s, a: _run(s, _expire, a.as_of))

    rebuild = commands.add_parser(
        "rebuild-projections", help="rebuild the Redis boards from the ledger, then the notices"
    )
    rebuild.set_defaults(run=lambda s, a: _run(s, _rebuild))
    notices = commands.add_parser(
        "rebuild-notices",
        help="rebuild every notice from the notice facts (ids, read marks and deliveries kept)",
    )
    notices.set_defaults(run=lambda s, a: _run(s, _rebuild_notices))
    check = commands.add_parser("check-projections", help="compare the Redis boards with SQL")
    check.add_argument(
        "--day", type=date.fromisoformat, default=None, help="a day in the periods to check"
    )
    check.add_argument(
        "--replica-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with GREENLEDGER_REPLICA_URL: how long to wait for the replica to replay",
    )
    check.set_defaults(run=lambda s, a: _run(s, _check, a.day, a.replica_wait))

    partition = commands.add_parser(
        "partition-entries", help="PostgreSQL: split the entries into monthly partitions"
    )
    partition.add_argument("--from-month", type=_month, required=True, help="YYYY-MM")
    partition.add_argument("--months", type=int, default=24)
    partition.set_defaults(run=lambda s, a: _run(s, _partition, a.from_month, a.months))

    verify = commands.add_parser(
        "verify", help="prove balances and the hash chain; exit 1 on failure"
    )
    verify.add_argument("--seal", action="store_true", help="seal pending entries first")
    verify.add_argument(
        "--metrics-file",
        type=Path,
        default=None,
        help="also write the outcome here for node_exporter's textfile collector (a .prom file)",
    )
    verify.set_defaults(run=lambda s, a: _run(s, _verify, a.seal, a.metrics_file))

    publish = commands.add_parser(
        "publish-heads",
        help="seal what is pending, then sign and publish every closed day's head",
    )
    publish.set_defaults(run=lambda s, a: _run(s, _publish_heads))

    receipt = commands.add_parser(
        "check-receipt",
        help="check a receipt against the published, signed day head (no database); "
        "exit 1 if it does not verify",
    )
    receipt.add_argument("source", metavar="FILE|URL", help="a receipt JSON file, or its URL")
    receipt.add_argument("--server", help="where the heads and keys are (default: the URL's)")
    receipt.add_argument("--heads", type=Path, help="the /api/v1/chain/heads JSON, offline")
    receipt.add_argument("--key", type=Path, help="the /api/v1/chain/key JSON, offline")
    receipt.set_defaults(run=_check_receipt, standalone=True)
    return parser


def _run(
    settings: Settings, command: Callable[..., Awaitable[int]], *args: Any, clock: Any = None
) -> int:
    return asyncio.run(_with_services(settings, command, *args, clock=clock))


def _check_receipt(args: argparse.Namespace) -> int:
    from api.receipt_check import run

    return run(args.source, args.server, args.heads, args.key)


async def _publish_heads(services: Any) -> int:
    await services.sealer.seal_all()
    heads = await services.transparency.publish_closed_days(services.clock.now())
    for head in heads:
        print(f"published {head.day}: {head.tree_size} entries, root {head.root}")
    print(f"{len(heads)} day heads published")
    return 0


async def _with_services(
    settings: Settings, command: Callable[..., Awaitable[int]], *args: Any, clock: Any = None
) -> int:
    from api.app import build_services, point_store_at

    point_store_at(settings)
    if command is _migrate:
        return await _migrate()
    from ledger.projections.client import connect_redis

    redis = connect_redis(settings.redis_url, settings.redis_cluster)
    services = build_services(settings, redis, clock)
    await services.db.start()
    try:
        return await command(services, *args)
    finally:
        await services.db.close()
        if redis is not None:
            await redis.aclose()


async def _migrate() -> int:
    from ledger.store.migrate import migrate

    success, message = await migrate()
    if not success:
        print(f"greenledger: migration failed: {message}", file=sys.stderr)
        return 1
    print("database schema is up to date")
    return 0


def _seed_demo_command(settings: Settings, args: argparse.Namespace) -> int:
    """The services on a clock the seed moves: its history is written as of past moments."""
    from ledger.services.demo_history import DemoClock

    return _run(settings, _seed_demo, args.households, args.days, clock=DemoClock())


async def _seed_demo(services: Any, households: int, days: int) -> int:
    from ledger.services.demo import seed_demo

    summary = await seed_demo(services, households=households, password=DEMO_PASSWORD, days=days)
    print(summary)
    return 0


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    async def add(services: Any) -> int:
        from ledger.domain.access import SYSTEM
        from ledger.services.users import LoginRequest

        request = LoginRequest(
            args.name,
            args.password,
            Role(args.role),
            household_id=args.household,
            volunteer_id=args.volunteer,
            compound_ids=tuple(args.compound),
        )
        result = await services.users.create(SYSTEM, f"cli-user-add:{uuid.uuid4()}", request)
        print(f"user {result.username} ({result.role}) has id {result.id}")
        return 0

    return _run_refusals(settings, add)


def _user_unlock(settings: Settings, args: argparse.Namespace) -> int:
    async def unlock(services: Any) -> int:
        await services.users.unlock_name(args.name)
        print(f"user {args.name}: sign-in locks lifted")
        return 0

    return _run_refusals(settings, unlock)


async def _load(services: Any, kind: str, file: Path) -> int:
    from ledger.services.bulk_load import BulkLoadRejected, load_csv

    try:
        loaded = await load_csv(services, kind, file)
    except BulkLoadRejected as rejected:
        print(f"{file}: nothing was loaded; fix these rows and run again:", file=sys.stderr)
        for problem in rejected.problems:
            print(f"  line {problem.line}: {problem.message}", file=sys.stderr)
        return 1
    print(f"{file}: loaded {loaded} {kind}")
    return 0


async def _expire(services: Any, as_of: date | None) -> int:
    summary = await services.expiry.run(as_of)
    print(
        f"expired {summary.expired_points} points in {summary.accounts} accounts "
        f"(lots valid until before {summary.as_of})"
    )
    warned = await services.expiry.warn()
    print(f"warned {warned.warned} households of points expiring within 30 days")
    return 0


async def _rebuild(services: Any) -> int:
    if services.projector is None:
        print(
            "greenledger: no GREENLEDGER_REDIS_URL; boards are answered from SQL", file=sys.stderr
        )
        return 2
    await services.sealer.seal_all()
    facts = await services.projector.rebuild()
    print(f"rebuilt the boards from {facts} facts")
    return await _rebuild_notices(services)


async def _rebuild_notices(services: Any) -> int:
    await services.sealer.seal_all()
    notices = await services.notice_projector.rebuild()
    print(f"rebuilt {notices} notices from their facts")
    return 0


async def _check(services: Any, day: date | None, replica_wait: float = 30.0) -> int:
    from ledger.domain.localtime import local_day
    from ledger.services.boards import differences
    from ledger.store.engine import current_engine
    from ledger.store.replica import replica_reads, wait_for_replay

    if services.projector is None:
        print("greenledger: no GREENLEDGER_REDIS_URL; nothing to compare", file=sys.stderr)
        return 2
    await services.sealer.seal_all()
    await services.projector.catch_up()
    # With GREENLEDGER_REPLICA_URL the SQL side is read from the replica, once it has replayed
    # every fact the boards were just brought up to.
    try:
        await wait_for_replay(current_engine(), replica_wait)
    except TimeoutError as error:
        print(f"greenledger: {error}; nothing compared", file=sys.stderr)
        return 2
    with replica_reads():
        problems = await differences(
            services.projector.boards, day or local_day(services.clock.now())
        )
    for problem in problems:
        print(f"DIFF {problem}")
    print("boards in Redis equal SQL" if not problems else f"{len(problems)} boards differ")
    return 1 if problems else 0


def _month(text: str) -> date:
    return date.fromisoformat(f"{text}-01")


async def _partition(services: Any, first: date, months: int) -> int:
    from ledger.store.partitioning import partition_entries_by_month

    try:
        made = await partition_entries_by_month(first, months)
    except ValueError as error:
        print(f"greenledger: {error}", file=sys.stderr)
        return 2
    print(
        f"entries are in {made} monthly partitions" if made else "entries are already partitioned"
    )
    return 0


async def _verify(services: Any, seal_first: bool, metrics_file: Path | None = None) -> int:
    if seal_first:
        await services.sealer.seal_all()
    report = await services.verifier.verify()
    if metrics_file is not None:
        from ledger.metrics import write_verify_file

        write_verify_file(str(metrics_file), bool(report.ok))
    for check in report.checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    print(
        f"{report.entries} entries, sealed through {report.sealed_through}, "
        f"{report.pending_seal} waiting for the sealer"
    )
    return 0 if report.ok else 1


async def _work(services: Any) -> int:
    from api.app import background_tasks

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks = background_tasks(services, stop)
    print(f"working: {', '.join(task.get_name() for task in tasks)}; stop with SIGTERM", flush=True)
    await asyncio.gather(*tasks)
    print("stopped", flush=True)
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.store import sqlite_files

    if settings.is_postgres:
        print(POSTGRES_BACKUPS, file=sys.stderr)
        return 2
    try:
        copied = sqlite_files.backup(sqlite_path(settings.database_url), args.file)
    except sqlite_files.Refused as refusal:
        print(f"greenledger: {refusal}", file=sys.stderr)
        return 2
    print(f"backed up {copied.pages} pages to {args.file} (integrity ok)")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.store import sqlite_files

    if settings.is_postgres:
        print(POSTGRES_BACKUPS, file=sys.stderr)
        return 2
    target = sqlite_path(settings.database_url)
    try:
        kept = sqlite_files.restore(args.file, target, replace=args.replace)
    except sqlite_files.Refused as refusal:
        print(f"greenledger: {refusal}", file=sys.stderr)
        return 2
    print(f"restored {args.file} to {target}")
    if kept is not None:
        print(f"the database it replaced is kept as {kept}")
    return _run(settings, _verify, False)


POSTGRES_BACKUPS = (
    "greenledger: the database is PostgreSQL; back it up with pg_basebackup and WAL "
    "archiving, restore to a point in time (docs/OPERATIONS.md, Backup and restore)"
)


def _run_refusals(settings: Settings, command: Callable[..., Awaitable[int]]) -> int:
    from ledger.domain.errors import LedgerError

    try:
        return _run(settings, command)
    except LedgerError as refusal:
        print(f"greenledger: {refusal.code}: {refusal.detail}", file=sys.stderr)
        return 1


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from api.logs import logging_config

    if args.workers > 1 and not settings.is_postgres:
        raise ConfigError("SQLite serves with one worker; use PostgreSQL for --workers > 1")
    # The app (in this process or in each worker) reads its settings from the environment: QR
    # codes point at the address served unless GREENLEDGER_BASE_URL says otherwise.
    if args.no_background:
        os.environ[PREFIX + "BACKGROUND"] = "off"  # the workers read their settings from here
    base_url = served_base_url(os.environ, args.host, args.port)
    os.environ[PREFIX + "BASE_URL"] = base_url
    # Each worker counts in files here, and a scrape of any worker of this process adds them up.
    made = prepare_multiprocess_dir(os.environ, args.workers, args.port)
    print(f"serving on {base_url}  (API docs: {base_url}/schema/swagger)")
    if args.host in WILDCARD_HOSTS and base_url.startswith("http://127.0.0.1:"):
        print(f"QR codes point at {base_url}; set {PREFIX}BASE_URL to an address phones reach")
    try:
        uvicorn.run(
            "api.app:served_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=logging_config(settings.log_format),  # in every worker too
            log_level="warning",  # uvicorn's own loggers; the app's request lines are INFO
            access_log=False,  # the app logs each request itself (api/observability.py)
            **proxy_options(settings),
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return 0


def prepare_multiprocess_dir(env: MutableMapping[str, str], workers: int, port: int) -> str | None:
    """For `serve --workers N`: the directory every worker writes its metric files to, set in
    `env` before any worker imports prometheus_client (one worker needs none, unless the
    operator set one), and emptied (old files would add a previous run's numbers). An operator's
    PROMETHEUS_MULTIPROC_DIR gets one subdirectory per serve process (`<dir>/<port>`): two
    processes sharing it never empty, nor add up, each other's files. Returns the directory if
    it was made here (to remove at exit)."""
    given = env.get(MULTIPROC_ENV)
    if given:
        own = os.path.join(given, str(port))
        os.makedirs(own, exist_ok=True)
        for stale in glob.glob(os.path.join(own, "*.db")):
            os.remove(stale)
        env[MULTIPROC_ENV] = own
        return None
    if workers < 2:
        return None
    made = tempfile.mkdtemp(prefix="greenledger-metrics-")
    env[MULTIPROC_ENV] = made
    return made


def proxy_options(settings: Settings) -> dict[str, Any]:
    """Uvicorn believes X-Forwarded-For (and -Proto) only from GREENLEDGER_TRUSTED_PROXIES; by
    default from nobody (uvicorn's own default trusts 127.0.0.1, so a header from any local
    process, or from a proxy that passes the client's header on, would pick the address that
    every per-address limit counts)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


if __name__ == "__main__":
    sys.exit(main())
