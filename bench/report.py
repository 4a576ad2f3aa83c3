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
            "http_redemptions",
            "seed_spending",
            "verify",
            "growth",
            "sqlite_inspections",
            "run",
        )
    }
    machine_info = machine()
    results["peer_hordak"] = _peer_credit(_load("peer_hordak"))

    def get(name: str, key: str) -> Any:
        return (results.get(name) or {}).get(key)

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
        "floor_over_hordak": _ratio(get("floor", "per_s"), get("peer_hordak", "per_s")),
        "http_over_hordak": _ratio(get("http_inspections", "per_s"), get("peer_hordak", "per_s")),
        "http_over_service": _ratio(get("http_inspections", "per_s"), get("service", "per_s")),
        "growth_largest_over_smallest_p50": {
            m: grow_ratio(m) for m in ("credit", "balance", "board", "board_sql")
        },
        "growth_sizes": [first.get("entries"), last.get("entries")] if stages else None,
        "balance_over_health": _ratio(get("http_account", "per_s"), get("http_health", "per_s")),
        "board_over_health": _ratio(get("http_board", "per_s"), get("http_health", "per_s")),
    }
    cores = machine_info["nproc"] or 2
    ceilings = cpu_rows(results, cores)
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info,
        "results": results,
        "ratios": ratios,
        "cpu": ceilings,
        "targets": targets(results, ratios, ceilings, last.get("entries") or 0),
    }


# HTTP phases whose server workers' resident sets are held against the memory target.
RSS_PHASES = (
    ("http_health", "`/health`"),
    ("http_inspections", "row 3"),
    ("http_batch", "row 4"),
    ("http_account", "row 5a"),
    ("http_board", "row 5b"),
    ("http_redemptions", "row 9"),
    ("sqlite_inspections", "row 8"),
)


def targets(
    results: dict[str, Any],
    ratios: dict[str, Any],
    ceilings: dict[str, dict[str, Any]],
    largest: int,
) -> list[dict[str, Any]]:
    """Issue 16's targets, each with its ratio to the target, the floor (row 1) and the peer
    (row 6) beside it where they apply, and the ceiling the measured CPU allows."""

    def get(name: str, key: str) -> Any:
        return (results.get(name) or {}).get(key)

    peer = results.get("peer_hordak")

    def beside(key: str) -> dict[str, Any]:
        return {"floor": get("floor", key), "peer": get("peer_hordak", key)}

    def ceiling(phase: str) -> float | None:
        return (ceilings.get(phase) or {}).get("ceiling_per_s")

    def rate(name: str, phase: str, goal: float | None, **more: Any) -> dict[str, Any]:
        """A phase's operations a second against its goal, with the ceiling its CPU allows."""
        return _target(
            name, get(phase, "per_s"), goal, [results.get(phase)], ceiling=ceiling(phase), **more
        )

    def over_health(name: str, phase: str, ratio: str) -> dict[str, Any]:
        """A read that keeps up with the same run's `/health`: at least 0.8 × its rate."""
        return _target(
            f"{name} ≥ 0.8 × the same run's `/health`",
            ratios[ratio],
            0.8,
            [results.get(phase), results.get("http_health")],
            unit="×",
            detail=_against_health(results, phase),
            ceiling=ceiling(phase),
        )

    found = [
        rate(
            "HTTP `POST /api/v1/inspections`, 64 connections, 2 workers ≥ 1,500 credits/s",
            "http_inspections",
            1500,
            **beside("per_s"),
        ),
        _target(
            "HTTP `POST /api/v1/inspections` p99 ≤ 100 ms",
            get("http_inspections", "p99_ms"),
            100,
            [results.get("http_inspections")],
            lower=True,
            unit="ms",
            **beside("p99_ms"),
        ),
        rate(
            "Ledger service at 8 concurrent ≥ 3,000 credits/s", "service", 3000, **beside("per_s")
        ),
        _target(
            "Ledger service ≥ 2 × django-hordak (same run)",
            ratios["service_over_hordak"],
            2,
            [results.get("service"), peer],
            unit="×",
            floor=ratios["floor_over_hordak"],
            floor_unit="×",
            peer=get("peer_hordak", "per_s"),
        ),
        rate("`events:batch` of 1,000 ≥ 20,000 events/s", "http_batch", 20000),
        over_health("Balance reads", "http_account", "balance_over_health"),
        over_health("Top-10 board reads", "http_board", "board_over_health"),
        rate("Embedded SQLite, HTTP ≥ 1,000 credits/s", "sqlite_inspections", 1000),
    ]
    size = f"10^{len(str(largest)) - 1}" if largest else "the largest size"
    for measure, label in (("credit", "credit"), ("balance", "balance read"), ("board", "board")):
        found.append(
            _target(
                f"Growth 10^4 → {size}: {label} p50 ≤ 1.25 ×",
                ratios["growth_largest_over_smallest_p50"].get(measure),
                1.25,
                [results.get("growth")],
                lower=True,
                unit="×",
            )
        )
    rss, where = worst_worker_rss((results.get("run") or {}).get("phases", {}))
    found.append(
        _target(
            "Each API worker's resident set after the HTTP phases ≤ 250 MB",
            rss,
            250,
            [],
            lower=True,
            unit="MB",
            detail=f"largest worker, after {where}" if where else None,
        )
    )
    found.append(
        rate(
            "Spending: HTTP `POST /api/v1/redemptions`, 8 clerks (report only)",
            "http_redemptions",
            None,
        )
    )
    return found


def worst_worker_rss(phases: dict[str, Any]) -> tuple[float | None, str | None]:
    """The largest resident set any API worker had after any HTTP phase, and after which."""
    worst: tuple[float | None, str | None] = (None, None)
    for phase, label in RSS_PHASES:
        sizes = (phases.get(phase) or {}).get("worker_rss_mb") or []
        if sizes and (worst[0] is None or max(sizes) > worst[0]):
            worst = (max(sizes), label)
    return worst


def _against_health(results: dict[str, Any], phase: str) -> str | None:
    rate = (results.get(phase) or {}).get("per_s")
    health = (results.get("http_health") or {}).get("per_s")
    if rate is None or health is None:
        return None
    return f"{_fmt(rate)}/s against {_fmt(health)}/s"


def _target(
    name: str,
    value: float | None,
    goal: float | None,
    checked: list[dict[str, Any] | None],
    *,
    lower: bool = False,
    unit: str = "/s",
    floor: float | None = None,
    floor_unit: str | None = None,
    peer: float | None = None,
    ceiling: float | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """`ratio` is measured / target for a floor to reach, target / measured for a ceiling
    (latency, growth, memory): either way ≥ 1 meets the target."""
    if value is None:
        verdict = "not measured"
    elif any(result is not None and not result.get("all_ok") for result in checked):
        verdict = "invalid (failed checks)"
    elif goal is None:
        verdict = "reported"
    else:
        verdict = "pass" if (value <= goal if lower else value >= goal) else "miss"
    ratio = None
    if value is not None and goal is not None:
        ratio = _ratio(goal, value) if lower else _ratio(value, goal)
    return {
        "target": name,
        "value": value,
        "goal": goal,
        "unit": unit,
        "lower_is_better": lower,
        "ratio": ratio,
        "floor": floor,
        "floor_unit": floor_unit or unit,
        "peer": peer,
        "ceiling_per_s": ceiling,
        "detail": detail,
        "verdict": verdict,
    }


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
        "| # | measured | load | throughput | p50 | p99 | worker RSS MB | every reply checked |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def row(
        number: str,
        what: str,
        load: str,
        result: dict[str, Any] | None,
        unit: str = "/s",
        phase: str | None = None,
    ) -> None:
        sizes = (phases.get(phase) or {}).get("worker_rss_mb") if phase else None
        rss = " / ".join(_fmt(size) for size in sizes) if sizes else "—"
        if not result:
            lines.append(f"| {number} | {what} | {load} | not measured | — | — | {rss} | — |")
            return
        checked = "ok" if result.get("all_ok") else f"**FAILED** {result.get('first_failure')}"
        lines.append(
            f"| {number} | {what} | {load} | {_fmt(result.get('per_s'))}{unit} | "
            f"{_fmt(result.get('p50_ms'), 1)} ms | {_fmt(result.get('p99_ms'), 1)} ms | {rss} | "
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
    row("2", "Ledger service: `Gradings.inspect`", "8 concurrent", r.get("service"), " credits/s")
    row(
        "3",
        "HTTP `POST /api/v1/inspections`",
        "64 connections, 2 workers",
        r.get("http_inspections"),
        " credits/s",
        "http_inspections",
    )
    batch = r.get("http_batch")
    row(
        "4",
        "HTTP `POST /api/v1/events:batch` (p50/p99 per request)",
        f"1,000 events/request, {batch.get('connections') if batch else 8} in flight",
        batch,
        " events/s",
        "http_batch",
    )
    row(
        "5a",
        "HTTP `GET /api/v1/accounts/{id}`",
        "64 connections",
        r.get("http_account"),
        phase="http_account",
    )
    row(
        "5b",
        "HTTP top-10 `GET /api/v1/leaderboards` (Redis)",
        "64 connections",
        r.get("http_board"),
        phase="http_board",
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
        "sqlite_inspections",
    )
    spend = r.get("http_redemptions")
    row(
        "9",
        "HTTP `POST /api/v1/redemptions` at the counter (one reward)",
        f"{spend.get('clerks', 8) if spend else 8} clerks, 2 workers",
        spend,
        " redemptions/s",
        "http_redemptions",
    )
    row(
        "—",
        "Load generator ceiling: `GET /health`",
        "64 connections",
        r.get("http_health"),
        phase="http_health",
    )
    lines += statements_line(r)
    lines += redemption_statements_line(r)
    lines += stock_line(r)
    lines += committer_lines(phases)
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
                ("balance_over_health", "balance reads / `/health`"),
                ("board_over_health", "board reads / `/health`"),
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
    lines += targets_table(data["targets"])
    return "\n".join(lines)


def targets_table(found: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "**Targets (issue 16):** *ratio* is measured / target for a rate to reach and target / "
        "measured for a limit to stay under (p99 latency, growth, memory), so ≥ 1.00 meets the "
        "target either way. Beside each: the floor (row 1: the credit's SQL alone) and the peer "
        "(row 6: django-hordak) where they measure the same thing, and the ceiling on idle "
        "cores from the CPU table (what the measured CPU per operation allows).",
        "",
        "| target | measured | ratio | floor (row 1) | peer (hordak) | ceiling on idle cores "
        "| verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for target in found:
        measured = _shown(target["value"], target["unit"])
        if target["detail"] and target["value"] is not None:
            measured += f" ({target['detail']})"
        ratio = "—" if target["ratio"] is None else f"{_fmt(target['ratio'], 2)}"
        floor = _shown(target["floor"], target["floor_unit"])
        peer = _shown(target["peer"], "/s" if target["unit"] == "×" else target["unit"])
        ceiling = "—" if target["ceiling_per_s"] is None else f"{_fmt(target['ceiling_per_s'])}/s"
        lines.append(
            f"| {target['target']} | {measured} | {ratio} | {floor} | {peer} | {ceiling} | "
            f"**{target['verdict']}** |"
        )
    return lines


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "×":
        return f"{_fmt(value, 2)}×"
    if unit in ("ms", "MB"):
        return f"{_fmt(value, 1 if unit == 'ms' else 0)} {unit}"
    return f"{_fmt(value)}{unit}"


def redemption_statements_line(r: dict[str, Any]) -> list[str]:
    """What one redemption sends, recorded from a real `Spending.redeem` at seeding time."""
    shapes = (r.get("seed_spending") or {}).get("statements")
    if not shapes:
        return []
    return [
        "",
        f"**Round trips per redemption:** {len(shapes)} (recorded from one `Spending.redeem` "
        "in this run, the second of its process, as every later one; pinned by "
        "`tests/integration/test_redemption_round_trips.py`): "
        + ", ".join(f"`{shape}`" for shape in shapes)
        + ".",
    ]


def stock_line(r: dict[str, Any]) -> list[str]:
    """Row 9's reward against its redemptions, read from the database around the phase."""
    check = (r.get("http_redemptions") or {}).get("stock_check")
    if not check:
        return []
    before, after = check["before"], check["after"]
    ok = all(check["checks"].values())
    failed = ", ".join(name for name, passed in check["checks"].items() if not passed)
    return [
        "",
        f"**Row 9's stock** (from the database): {_fmt(before['stock'])} → "
        f"{_fmt(after['stock'])} for {_fmt(check['answered'])} redemptions answered 201 (warm-up "
        f"included), each with its own redemption id and row; stock {_fmt(after['stock'])} + "
        f"redeemed {_fmt(after['redeemed'])} = {_fmt(after['stock'] + after['redeemed'])} "
        f"against {_fmt(check['stock_seeded'])} created: "
        + ("ok." if ok else f"**FAILED** ({failed})."),
    ]


COMMITTER_ROWS = (
    ("service", "2 ledger service"),
    ("http_inspections", "3 HTTP inspections"),
    ("http_batch", "4 HTTP batch"),
)


def committer_lines(phases: dict[str, Any]) -> list[str]:
    """Group size and added wait of the grading committer over rows 2, 3 and 4."""
    stats = [
        (label, (phases.get(name) or {}).get("grading_committer")) for name, label in COMMITTER_ROWS
    ]
    if not any(found for _, found in stats):
        return []
    lines = [
        "",
        "**Grading committer** (the server's `/metrics` before and after each phase, for row 2 "
        "the bench process's own metrics, bucket by bucket: *group size* = gradings per "
        "committed group, *wait* = from a grading's arrival "
        "at its worker's committer to the start of its group's transaction; p50 and p99 are "
        "bucket-interpolated, the mean is exact):",
        "",
        "| row | groups | gradings | group size p50 / p99 (mean) | added wait p50 / p99 (mean) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, found in stats:
        if not found:
            lines.append(f"| {label} | not measured | | | |")
        elif not found.get("scraped"):
            lines.append(f"| {label} | `/metrics` did not answer | | | |")
        elif not found.get("groups"):
            lines.append(f"| {label} | no groups recorded | 0 | — | — |")
        else:
            size, wait = found["group_size"], found["wait_ms"]
            lines.append(
                f"| {label} | {_fmt(found['groups'])} | {_fmt(found['gradings'])} | "
                f"{_fmt(size['p50'], 1)} / {_fmt(size['p99'], 1)} ({_fmt(size['mean'], 1)}) | "
                f"{_fmt(wait['p50'], 2)} / {_fmt(wait['p99'], 2)} ({_fmt(wait['mean'], 2)}) ms |"
            )
    return lines


def statements_line(r: dict[str, Any]) -> list[str]:
    """Does the floor still send what the ledger sends? Both were recorded in this run: the
    statements' shapes, and (when both recorded them) their texts."""
    ours = (r.get("service") or {}).get("statements")
    floor = (r.get("floor") or {}).get("statements")
    if not ours or not floor:
        return []
    our_texts = (r.get("service") or {}).get("statement_texts")
    floor_texts = (r.get("floor") or {}).get("statement_texts")
    if ours == floor and our_texts and floor_texts and our_texts != floor_texts:
        differing = sum(a != b for a, b in zip(our_texts, floor_texts, strict=True))
        return [
            "",
            f"**The floor no longer matches the ledger**: the same {len(ours)} round trips, "
            f"but {differing} of the floor's statement texts differ from the ledger's. "
            "Update bench/floor.py.",
        ]
    if ours == floor:
        texts = ", text for text" if our_texts and our_texts == floor_texts else ""
        return [
            "",
            f"**Round trips per graded credit:** {len(ours)}, the same in the ledger and the "
            f"floor{texts} (recorded from one `Gradings.inspect`, a group of one, and one floor "
            "credit in this run, each the first of its process, so each also reads an issuance "
            "stripe's account id, which later credits on that stripe remember): "
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


# (row label, result or phase name, unit) of the CPU table; rows 1-2 measure themselves.
CPU_ROWS = (
    ("floor", "floor", "credit"),
    ("floor_one_trip", "floor", "credit"),
    ("service", "service", "credit"),
    ("http_inspections", "http_inspections", "credit"),
    ("http_batch", "http_batch", "event"),
    ("http_account", "http_account", "read"),
    ("http_board", "http_board", "read"),
    ("http_redemptions", "http_redemptions", "redemption"),
    ("sqlite_inspections", "sqlite_inspections", "credit"),
)


def cpu_rows(results: dict[str, Any], cores: int) -> dict[str, dict[str, Any]]:
    """CPU per operation by process, and the throughput it allows if both cores were ours:
    the background load of other work on this machine distorts the measured rates, much
    less the CPU each operation costs."""
    phases = (results.get("run") or {}).get("phases", {})
    floor = results.get("floor") or {}
    rows: dict[str, dict[str, Any]] = {}
    for key, source, unit in CPU_ROWS:
        if key in ("floor", "floor_one_trip", "service"):
            result = floor.get("one_round_trip") if key == "floor_one_trip" else results.get(source)
            cpu = (result or {}).get("cpu_ms_per_credit") or {}
            app, pg = cpu.get("this_process"), cpu.get("postgres")
        else:
            info = phases.get(source, {})
            app, pg = info.get("server_cpu_ms_per_unit"), info.get("postgres_cpu_ms_per_unit")
        if app is None:
            continue
        total = app + (pg or 0)
        rows[key] = {
            "python_ms": app,
            "postgres_ms": pg,
            "unit": unit,
            "ceiling_per_s": round(1000 * cores / total) if total else None,
        }
    return rows


def cpu_table(data: dict[str, Any]) -> list[str]:
    cores = data["machine"]["nproc"] or 2
    floor = data["results"].get("floor") or {}
    labels = {
        "floor": f"1 floor ({floor.get('round_trips_per_credit', '?')} round trips)",
        "floor_one_trip": "1b floor (1 round trip)",
        "service": "2 ledger service",
        "http_inspections": "3 HTTP inspections",
        "http_batch": "4 HTTP batch",
        "http_account": "5a HTTP balance read",
        "http_board": "5b HTTP top-10 board",
        "sqlite_inspections": "8 SQLite HTTP inspections",
        "http_redemptions": "9 HTTP redemptions",
    }
    lines = [
        "",
        "**CPU per operation** (ms; warm-up included). *Python* is the process doing the work "
        "(the bench process for rows 1-2, the server's workers for rows 3-9); *PostgreSQL* is "
        f"the backends serving it. *Ceiling* = {cores} cores / (Python + PostgreSQL): the rate "
        "if the two cores were ours alone (it leaves out Redis, the kernel's share and, for "
        "HTTP, the load generator).",
        "",
        "| row | Python | PostgreSQL | ceiling on idle cores |",
        "| --- | --- | --- | --- |",
    ]
    for key, row in sorted(data["cpu"].items(), key=lambda item: list(labels).index(item[0])):
        lines.append(
            f"| {labels[key]} | {_fmt(row['python_ms'], 2)} | {_fmt(row['postgres_ms'], 2)} | "
            f"{_fmt(row['ceiling_per_s'])} {row['unit']}s/s |"
        )
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
