"""One table from var/bench/*.json: printed, written into docs/BENCHMARKS.md between the
result markers (the hand-written analysis around them stays), and to docs/benchmarks.json."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import OUT, PG_HOST, PG_PORT, PG_USER, ROOT, read_result

DOC = ROOT / "docs" / "BENCHMARKS.md"
JSON_OUT = ROOT / "docs" / "benchmarks.json"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
PG_SETTINGS = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "wal_sync_method",
    "full_page_writes",
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "max_connections",
    "max_wal_size",
)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _pg_settings(),
        "redis": _redis_version(),
        "packages": {
            name: _version(name)
            for name in ("litestar", "piccolo", "asyncpg", "uvicorn", "uvloop", "msgspec", "redis")
        },
        "commit": _git("rev-parse", "--short", "HEAD"),
        "tree_dirty": bool(_git("status", "--porcelain", "--", "ledger", "api", "migrations")),
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git(*arguments: str) -> str:
    completed = subprocess.run(  # noqa: S603
        ["git", *arguments],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip()


def _pg_settings() -> dict[str, str]:
    import asyncio

    import asyncpg

    async def read() -> dict[str, str]:
        db = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        try:
            rows = await db.fetch(
                "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])",
                list(PG_SETTINGS),
            )
        finally:
            await db.close()
        return {row["name"]: _with_unit(row["setting"], row["unit"]) for row in rows}

    try:
        return asyncio.run(read())
    except OSError as error:
        return {"error": str(error)}


def _with_unit(setting: str, unit: str | None) -> str:
    if unit == "8kB" and setting.isdigit():
        return f"{int(setting) * 8 // 1024} MB"
    if unit in ("kB", "MB") and setting.isdigit():
        return f"{setting} {unit}"
    return setting


def _redis_version() -> str | None:
    completed = subprocess.run(
        ["redis-cli", "-n", "14", "INFO", "server"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("redis_version:"):
            return line.split(":", 1)[1].strip()
    return None


def _load(name: str) -> dict[str, Any] | None:
    try:
        return read_result(name)
    except (OSError, json.JSONDecodeError):
        return None


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 2)


def _peer_credit(peer: dict[str, Any] | None) -> dict[str, Any] | None:
    if not peer:
        return None
    for phase in peer.get("phases", []):
        if phase["phase"] == "credit":
            return {
                "per_s": phase["ops_per_s"],
                "p50_ms": phase["p50_ms"],
                "p99_ms": phase["p99_ms"],
                "all_ok": all(peer.get("checks", {}).values()),
                "checks": peer.get("checks"),
            }
    return None


def build() -> dict[str, Any]:
    results = {
        name: _load(name)
        for name in (
            "floor",
            "service",
            "http_health",
            "http_inspections",
            "http_batch",
            "http_account",
            "http_board",
            "verify",
            "growth",
            "sqlite_inspections",
            "run",
        )
    }
    results["peer_hordak"] = _peer_credit(_load("peer_hordak"))
    get = lambda name, key: (results.get(name) or {}).get(key)  # noqa: E731
    growth = results.get("growth") or {}
    stages = growth.get("stages", [])
    first, last = (stages[0], stages[-1]) if stages else ({}, {})

    def grow_ratio(measure: str) -> float | None:
        if len(stages) < 2:
            return None
        return _ratio(last[measure]["p50_ms"], first[measure]["p50_ms"])

    ratios = {
        "service_over_floor": _ratio(get("service", "per_s"), get("floor", "per_s")),
        "service_over_hordak": _ratio(get("service", "per_s"), get("peer_hordak", "per_s")),
        "http_over_hordak": _ratio(get("http_inspections", "per_s"), get("peer_hordak", "per_s")),
        "http_over_service": _ratio(get("http_inspections", "per_s"), get("service", "per_s")),
        "growth_largest_over_smallest_p50": {
            m: grow_ratio(m) for m in ("credit", "balance", "board", "board_sql")
        },
        "growth_sizes": [first.get("entries"), last.get("entries")] if stages else None,
    }
    largest = last.get("entries") or 0
    targets = [
        _target(
            "HTTP graded credits ≥ 1,500/s",
            get("http_inspections", "per_s"),
            1500,
            results.get("http_inspections"),
        ),
        _target(
            "HTTP graded credits p99 ≤ 100 ms",
            get("http_inspections", "p99_ms"),
            100,
            results.get("http_inspections"),
            lower=True,
            unit="ms",
        ),
        _target(
            "Ledger service ≥ 3,000 credits/s (8 concurrent)",
            get("service", "per_s"),
            3000,
            results.get("service"),
        ),
        _target("Ledger service ≥ 0.6 × floor", ratios["service_over_floor"], 0.6, None, unit="×"),
        _target(
            "Batch ≥ 20,000 events/s", get("http_batch", "per_s"), 20000, results.get("http_batch")
        ),
        _target(
            "Balance reads ≥ 5,000/s (HTTP)",
            get("http_account", "per_s"),
            5000,
            results.get("http_account"),
        ),
        _target(
            "Top-10 boards ≥ 5,000/s (HTTP)",
            get("http_board", "per_s"),
            5000,
            results.get("http_board"),
        ),
        _target(
            "≥ 2 × django-hordak credits/s (service layer)",
            ratios["service_over_hordak"],
            2,
            None,
            unit="×",
        ),
        _target(
            "≥ 2 × django-hordak credits/s (over HTTP)",
            ratios["http_over_hordak"],
            2,
            None,
            unit="×",
        ),
    ]
    for measure, label in (
        ("balance", "balance read"),
        ("board", "top-10 board"),
        ("credit", "credit"),
    ):
        value = ratios["growth_largest_over_smallest_p50"].get(measure)
        size = f"10^{len(str(largest)) - 1}" if largest else "largest size"
        targets.append(
            _target(
                f"{label} p50 at {size} ≤ 1.25 × at 10^4", value, 1.25, None, lower=True, unit="×"
            )
        )
    targets.append(
        _target(
            "Embedded SQLite ≥ 400 graded credits/s",
            get("sqlite_inspections", "per_s"),
            400,
            results.get("sqlite_inspections"),
        )
    )
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": results,
        "ratios": ratios,
        "targets": targets,
    }


def _target(
    name: str,
    value: float | None,
    goal: float,
    result: dict[str, Any] | None,
    *,
    lower: bool = False,
    unit: str = "/s",
) -> dict[str, Any]:
    if value is None:
        verdict = "not measured"
    elif result is not None and not result.get("all_ok"):
        verdict = "invalid (failed checks)"
    else:
        verdict = "pass" if (value <= goal if lower else value >= goal) else "miss"
    return {"target": name, "value": value, "goal": goal, "unit": unit, "verdict": verdict}


def markdown(data: dict[str, Any]) -> str:
    r, ratios, m = data["results"], data["ratios"], data["machine"]
    pg = m["postgresql"]
    run = r.get("run") or {}
    phases = run.get("phases", {})
    lines = [
        f"Generated by `make bench` at {data['generated_at']} on commit {m['commit']}"
        + (" (ledger/api/migrations had uncommitted changes)" if m["tree_dirty"] else "")
        + f"; the run took {_fmt((run.get('wall_s') or 0) / 60, 1)} min"
        + (" (--quick)" if run.get("quick") else "")
        + ".",
        "",
        f"**Machine:** {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, Linux "
        f"{m['kernel']}, Python {m['python']}. PostgreSQL {pg.get('server_version')} "
        f"(fsync={pg.get('fsync')}, synchronous_commit={pg.get('synchronous_commit')}, "
        f"wal_sync_method={pg.get('wal_sync_method')}, shared_buffers={pg.get('shared_buffers')},"
        f" max_connections={pg.get('max_connections')}); Redis {m['redis']}. Litestar "
        f"{m['packages']['litestar']}, Piccolo {m['packages']['piccolo']}, asyncpg "
        f"{m['packages']['asyncpg']}, uvicorn {m['packages']['uvicorn']} with uvloop. "
        "Load generator, server, PostgreSQL and Redis share the same two cores.",
        "",
        "**Background load** (cores busy with other work just before each phase): "
        + ", ".join(
            f"{name} {info.get('background_cores_before', '?')}"
            for name, info in phases.items()
            if "background_cores_before" in info
        )
        + ".",
        "",
        "| # | measured | load | throughput | p50 | p99 | every reply checked |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def row(
        number: str, what: str, load: str, result: dict[str, Any] | None, unit: str = "/s"
    ) -> None:
        if not result:
            lines.append(f"| {number} | {what} | {load} | not measured | — | — | — |")
            return
        checked = "ok" if result.get("all_ok") else f"**FAILED** {result.get('first_failure')}"
        lines.append(
            f"| {number} | {what} | {load} | {_fmt(result.get('per_s'))}{unit} | "
            f"{_fmt(result.get('p50_ms'), 1)} ms | {_fmt(result.get('p99_ms'), 1)} ms | "
            f"{checked} |"
        )

    trips = (r.get("floor") or {}).get("round_trips_per_credit", "its")
    row(
        "1",
        f"Floor: the credit's SQL via asyncpg ({trips} round trips)",
        "8 concurrent",
        r.get("floor"),
        " credits/s",
    )
    floor_result = r.get("floor") or {}
    row(
        "1b",
        "Floor in one round trip (same statements in a plpgsql function; not our design)",
        "8 concurrent",
        floor_result.get("one_round_trip"),
        " credits/s",
    )
    row("2", "Ledger service: `Scans.inspect`", "8 concurrent", r.get("service"), " credits/s")
    row(
        "3",
        "HTTP `POST /api/v1/inspections`",
        "64 connections, 2 workers",
        r.get("http_inspections"),
        " credits/s",
    )
    batch = r.get("http_batch")
    row(
        "4",
        "HTTP `POST /api/v1/events:batch` (p50/p99 per request)",
        f"1,000 events/request, {batch.get('connections') if batch else 8} in flight",
        batch,
        " events/s",
    )
    row("5a", "HTTP `GET /api/v1/accounts/{id}`", "64 connections", r.get("http_account"))
    row(
        "5b",
        "HTTP top-10 `GET /api/v1/leaderboards` (Redis)",
        "64 connections",
        r.get("http_board"),
    )
    peer = r.get("peer_hordak")
    row(
        "6",
        "django-hordak + harness guards (`ledger_bench.py`)",
        "8 worker processes",
        peer,
        " credits/s",
    )
    row(
        "8",
        "Embedded: HTTP inspections on SQLite",
        "64 connections, 1 worker",
        r.get("sqlite_inspections"),
        " credits/s",
    )
    row("—", "Load generator ceiling: `GET /health`", "64 connections", r.get("http_health"))
    lines += statements_line(r)
    lines += cpu_table(data)
    lines += [
        "",
        "**Ratios:** "
        + "; ".join(
            f"{label} **{_fmt(ratios.get(key), 2)}×**"
            for key, label in (
                ("service_over_floor", "service / floor"),
                ("service_over_hordak", "service / hordak"),
                ("http_over_hordak", "HTTP / hordak"),
                ("http_over_service", "HTTP / service"),
            )
        )
        + ".",
    ]
    growth = r.get("growth") or {}
    stages = growth.get("stages", [])
    if stages:
        lines += [
            "",
            "**Growth** (one request at a time through the service layer; p50 / p99 in ms):",
            "",
            "| entries | credit | balance read | top-10 board (Redis) | top-10 board (SQL "
            "fallback) | bulk load of this stage |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for stage in stages:
            cells = [
                f"{_fmt(stage[k]['p50_ms'], 2)} / {_fmt(stage[k]['p99_ms'], 2)}"
                + ("" if stage[k]["all_ok"] else " **FAILED**")
                for k in ("credit", "balance", "board", "board_sql")
            ]
            lines.append(
                f"| {stage['entries']:,} | "
                + " | ".join(cells)
                + f" | {_fmt(stage['load']['total_s'], 0)} s |"
            )
        growth_ratios = ratios["growth_largest_over_smallest_p50"]
        lines.append(
            "| **ratio p50** | "
            + " | ".join(
                f"**{_fmt(growth_ratios.get(k), 2)}×**"
                for k in ("credit", "balance", "board", "board_sql")
            )
            + " | |"
        )
        lines += _growth_io_rows(stages)
        if "verify" in growth:
            verified = growth["verify"]
            lines.append(
                f"\n`verify` on the grown database ({verified['entries']:,} entries, "
                f"{growth.get('verify_s')} s): "
                + ", ".join(
                    f"{k} {'ok' if v else _growth_check_failure(k, growth)}"
                    for k, v in verified["checks"].items()
                )
            )
    verify = r.get("verify")
    if verify:
        lines.append(
            f"\n`greenledger verify` after the HTTP phases (and `ANALYZE`): "
            f"{'ok' if verify['ok'] else 'FAILED'} — " + " / ".join(verify["output"][-2:])
        )
    lines += [
        "",
        "**Targets (issue 7):**",
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
    ]
    for target in data["targets"]:
        value = target["value"]
        shown = (
            "—"
            if value is None
            else (
                f"{_fmt(value, 2)}{target['unit']}"
                if target["unit"] == "×"
                else f"{_fmt(value, 1)} {target['unit'].strip('/')}"
                if target["unit"] == "ms"
                else f"{_fmt(value)}{target['unit']}"
            )
        )
        verdict = target["verdict"]
        lines.append(f"| {target['target']} | {shown} | **{verdict}** |")
    return "\n".join(lines)


def statements_line(r: dict[str, Any]) -> list[str]:
    """Does the floor still send what the ledger sends? Both were recorded in this run."""
    ours = (r.get("service") or {}).get("statements")
    floor = (r.get("floor") or {}).get("statements")
    if not ours or not floor:
        return []
    if ours == floor:
        return [
            "",
            f"**Round trips per graded credit:** {len(ours)}, the same in the ledger and the "
            "floor (recorded from one `Scans.inspect` and one floor credit in this run): "
            + ", ".join(f"`{shape}`" for shape in ours)
            + ".",
        ]
    return [
        "",
        f"**The floor no longer matches the ledger** ({len(floor)} vs {len(ours)} round trips); "
        f"the ledger now sends: {', '.join(ours)}. Update bench/floor.py.",
    ]


def _growth_io_rows(stages: list[dict[str, Any]]) -> list[str]:
    """Shared-buffer hits and misses per operation, and WAL bytes per credit, by size."""
    if not all("buffer_reads_per_op" in stage["credit"] for stage in stages):
        return []
    lines = [
        "",
        "| entries | credit: buffer hits / misses | credit: WAL bytes (cluster-wide) | balance "
        "read: buffer hits / misses |",
        "| --- | --- | --- | --- |",
    ]
    for stage in stages:
        credit, balance = stage["credit"], stage["balance"]
        lines.append(
            f"| {stage['entries']:,} | {credit['buffer_hits_per_op']:.0f} / "
            f"{credit['buffer_reads_per_op']:.1f} | {credit['wal_bytes_per_op']:,} | "
            f"{balance['buffer_hits_per_op']:.0f} / {balance['buffer_reads_per_op']:.1f} |"
        )
    return lines


def _growth_check_failure(name: str, growth: dict[str, Any]) -> str:
    if name == "hash_chain" and growth.get("all_ok"):
        return "not applicable (the bulk-loaded history is never sealed, by design)"
    return "**FAILED**"


def cpu_table(data: dict[str, Any]) -> list[str]:
    """CPU per operation by process, and the throughput it allows if both cores were ours:
    the background load of other work on this machine distorts the measured rates, much
    less the CPU each operation costs."""
    r = data["results"]
    phases = (r.get("run") or {}).get("phases", {})
    cores = data["machine"]["nproc"] or 2
    rows: list[tuple[str, float | None, float | None, str]] = []
    floor = r.get("floor") or {}
    for name, result in (
        (f"1 floor ({floor.get('round_trips_per_credit', '?')} round trips)", floor),
        ("1b floor (1 round trip)", floor.get("one_round_trip") or {}),
        ("2 ledger service", r.get("service") or {}),
    ):
        cpu = result.get("cpu_ms_per_credit") or {}
        rows.append((name, cpu.get("this_process"), cpu.get("postgres"), "credit"))
    for label, phase, unit in (
        ("3 HTTP inspections", "http_inspections", "credit"),
        ("4 HTTP batch", "http_batch", "event"),
        ("5a HTTP balance read", "http_account", "read"),
        ("5b HTTP top-10 board", "http_board", "read"),
        ("8 SQLite HTTP inspections", "sqlite_inspections", "credit"),
    ):
        info = phases.get(phase, {})
        rows.append(
            (label, info.get("server_cpu_ms_per_unit"), info.get("postgres_cpu_ms_per_unit"), unit)
        )
    lines = [
        "",
        "**CPU per operation** (ms; warm-up included). *Python* is the process doing the work "
        "(the bench process for rows 1-2, the server's workers for rows 3-8); *PostgreSQL* is "
        f"the backends serving it. *Ceiling* = {cores} cores / (Python + PostgreSQL): the rate "
        "if the two cores were ours alone (it leaves out Redis, the kernel's share and, for "
        "HTTP, the load generator).",
        "",
        "| row | Python | PostgreSQL | ceiling on idle cores |",
        "| --- | --- | --- | --- |",
    ]
    for label, app, pg, unit in rows:
        if app is None:
            continue
        total = app + (pg or 0)
        ceiling = 1000 * cores / total if total else None
        lines.append(f"| {label} | {_fmt(app, 2)} | {_fmt(pg, 2)} | {_fmt(ceiling)} {unit}s/s |")
    return lines


def report() -> list[str]:
    """Write the table; return what failed (phases that crashed, results with wrong replies)."""
    data = build()
    text = markdown(data)
    print("\n" + text + "\n", flush=True)
    JSON_OUT.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    block = f"{START}\n{text}\n{END}"
    if DOC.exists():
        current = DOC.read_text()
        if START in current and END in current:
            head, rest = current.split(START, 1)
            DOC.write_text(head + block + rest.split(END, 1)[1])
        else:
            DOC.write_text(current.rstrip() + "\n\n" + block + "\n")
    else:
        DOC.write_text("# Benchmarks\n\n" + block + "\n")
    results = data["results"]
    phases = (results.get("run") or {}).get("phases", {})
    broken = [name for name, info in phases.items() if info.get("exit_code") not in (0, None)]
    broken += [
        name
        for name, result in results.items()
        if name not in ("run", "verify") and result is not None and not result.get("all_ok")
    ]
    if results.get("verify") and not results["verify"].get("ok"):
        broken.append("verify")
    return sorted(set(broken))


if __name__ == "__main__":
    failed = report()
    print(f"failed: {', '.join(failed)}" if failed else "every check passed")
    print(f"wrote {DOC.relative_to(ROOT)} and {JSON_OUT.relative_to(ROOT)} from {OUT}")
