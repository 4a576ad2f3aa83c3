"""`make bench-profile`: py-spy over the ledger-service phase, summarised by layer.

    python -m bench.profile --py-spy .venv-tools/bin/py-spy [--seconds 20]
    python -m bench.profile --summarise var/bench/profile.txt

A fresh copy of the seeded database, with the past the run's copies get (bench/past.py), takes
the same 8-task credit loop as `make bench` (bench/service.py); once its timed loop runs
(imports and start-up are not profiled), py-spy attaches to it with native frames, so the
driver's C code, the socket syscalls and the garbage collector show up. On-CPU samples only:
waiting for PostgreSQL is not in the profile, it is in the round trips. The collapsed stacks go
to var/bench/profile.txt; the summary charges every sample to one layer (the garbage collector
or a syscall if the sample is in one, else the first package found walking from the sampled
frame towards the root, so `re` called by Piccolo counts as Piccolo) and lists the heaviest
functions, self and inclusive.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.common import OUT, ROOT, drop_database, log, recreate_database, write_result

SEED_DB, PROFILE_DB = "bench_seed", "bench_profile"
# py-spy names a frame `function (path/inside/site-packages/or/project.py:line)`, and a native
# one `function (library.so)`.
LAYERS = (
    ("piccolo/", "Piccolo (query building, compile, rows to dicts)"),
    ("asyncpg/", "asyncpg (driver, Cython protocol)"),
    ("ledger/store/", "ledger.store (our code around Piccolo)"),
    ("ledger/services/", "ledger.services"),
    ("ledger/domain/", "ledger.domain"),
    ("redis/", "redis-py (rate limiter, boards)"),
    ("jwt/", "PyJWT (bearer token)"),
    ("litestar/", "Litestar (routing, DI, guards, encoding)"),
    ("msgspec/", "msgspec"),
    ("api/", "api (our handlers, middleware)"),
    ("uvicorn/", "uvicorn (HTTP parsing, ASGI)"),
    ("fractions", "fractions (board ranking)"),
    ("bench/", "bench harness"),
    ("asyncio/", "event loop (uvloop: reading replies, running callbacks)"),
)
SYSCALLS = (
    (("write ", "writev ", "send"), "socket writes (syscall: loopback TCP to PostgreSQL)"),
    (("read ", "recv"), "socket reads (syscall)"),
    (("epoll",), "epoll wait"),
)


def layer_of(stack: list[str]) -> str:
    if any(frame.startswith("gc_collect") for frame in stack):
        return "garbage collector (gc_collect_main)"
    for prefixes, name in SYSCALLS:
        if stack[-1].startswith(prefixes):
            return name
    for frame in reversed(stack):
        where = frame.rpartition(" (")[2]
        if ".py:" not in where:
            continue
        for marker, name in LAYERS:
            if where.startswith(marker) or f"/{marker}" in where:
                return name
    return "other (interpreter, stdlib)"


def summarise(path: Path) -> dict[str, object]:
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        if _idle_thread(stack):
            continue
        total += count
        layers[layer_of(stack)] += count
        own[_short(stack[-1])] += count
        for frame in set(map(_short, stack)):
            inclusive[frame] += count

    def share(counter: Counter[str], top: int) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "by_layer_percent": share(layers, 20),
        "self_percent": share(own, 25),
        "inclusive_percent": share(inclusive, 60),
    }


def _idle_thread(stack: list[str]) -> bool:
    """A pool or logging thread blocked on its queue (native mode reports it as running)."""
    return any(frame.startswith(("_queue_SimpleQueue_get", "Condition.wait")) for frame in stack)


def _short(frame: str) -> str:
    """`compile_string (piccolo/querystring.py:123)` without the line number and site path."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", f"{ROOT}/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


def _profile_database() -> None:
    """A copy of the seeded database with the past the run's copies get (bench/past.py)."""
    from bench.common import pg_url
    from bench.past import add_past

    asyncio.run(recreate_database(PROFILE_DB, SEED_DB))
    fixture = json.loads((OUT / "fixture.json").read_text())
    asyncio.run(add_past(pg_url(PROFILE_DB), fixture))


def record(py_spy: str, seconds: float) -> Path:
    _profile_database()
    raw = OUT / "profile.txt"
    service = [sys.executable, "-m", "bench.service", "--db", PROFILE_DB, "--fixture"]
    service += [str(OUT / "fixture.json"), "--slice", "0:20000", "--warmup", "2"]
    service += ["--duration", str(seconds + 6), "--no-verify", "--out", "service_profiled"]
    child = subprocess.Popen(service, cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
    assert child.stdout is not None
    for line in child.stdout:
        print(line, end="")
        if "timed loop starting" in line:
            break
    time.sleep(2)  # past the warm-up: every connection has its prepared statements
    command = [py_spy, "record", "--pid", str(child.pid), "--native", "--rate", "200"]
    command += ["--duration", str(int(seconds)), "--format", "raw", "--output", str(raw)]
    subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603 (fixed arguments)
    for line in child.stdout:
        print(line, end="")
    child.wait()
    return raw


def record_http(py_spy: str, seconds: float, mode: str) -> Path:
    """py-spy on the single worker of `greenledger serve` under 64 connections of `mode` (8 for
    `batch`, of 1,000 events each)."""
    from bench.common import HTTP_PORT, pg_url
    from bench.server import Server

    _profile_database()
    raw = OUT / f"profile-http-{mode}.txt"
    with Server(pg_url(PROFILE_DB), HTTP_PORT, workers=1) as server:
        load = [sys.executable, "-m", "bench.loadgen", "--port", str(HTTP_PORT), "--mode", mode]
        load += ["--fixture", str(OUT / "fixture.json"), "--slice", "0:20000", "--scope-id"]
        load += [str(json.loads((OUT / "fixture.json").read_text())["compounds"][0])]
        load += ["--duration", str(seconds + 4), "--out", f"http_{mode}_profiled"]
        if mode == "batch":  # as the bench's row 4: 8 requests of 1,000 events in flight
            load += ["--connections", "8", "--warmup", "0"]
        child = subprocess.Popen(load, cwd=ROOT)  # noqa: S603
        time.sleep(3)
        worker = max(server.pids())  # the supervisor's child
        command = [py_spy, "record", "--pid", str(worker), "--native", "--rate", "200"]
        command += ["--duration", str(int(seconds)), "--format", "raw", "--output", str(raw)]
        subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603
        child.wait()
    return raw


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--py-spy", help="path of the py-spy binary (make bench-profile)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--summarise", type=Path, help="only summarise an existing raw file")
    parser.add_argument(
        "--http",
        choices=["inspections", "batch", "board", "account"],
        help="profile a server worker",
    )
    args = parser.parse_args()
    if args.summarise:
        raw = args.summarise
    else:
        if not args.py_spy:
            raise SystemExit("--py-spy PATH or --summarise FILE")
        if not (OUT / "fixture.json").exists():
            raise SystemExit("run `make bench` (or python -m bench --only seed) first")
        if args.http:
            raw = record_http(args.py_spy, args.seconds, args.http)
        else:
            raw = record(args.py_spy, args.seconds)
        asyncio.run(drop_database(PROFILE_DB))
    summary = summarise(raw)
    write_result(f"profile_summary{'_' + args.http if args.http else ''}", summary)
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    log(f"profile: {raw} ({summary['samples']} samples); summary in var/bench/")


if __name__ == "__main__":
    main()
