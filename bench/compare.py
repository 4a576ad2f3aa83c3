"""Every figure of one `make bench` run against another's, as a Markdown table.

    python -m bench.compare PREVIOUS.json THIS.json [--within 10]

Both files are `docs/benchmarks.json` as `make bench` writes it (the previous one from git:
`git show REV:docs/benchmarks.json > previous.json`). A figure is *better*, *within* N % (the
default 10) or *worse*: rates count as better when higher, latencies, CPU per operation and
resident sets when lower. Runs compare only when measured the same way, on the same machine
(the machine lines must match; a mismatch is said first). Exits 0: it reports, never asserts.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GROWTH_OPS = ("credit", "balance", "board", "board_sql")
MACHINE = ("nproc", "memory_gib", "cpu_model", "kernel", "python", "postgresql", "redis")


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    previous: float
    this: float
    higher_is_better: bool

    def change(self) -> float:
        """The relative change, positive when better."""
        if self.previous == 0:
            return 0.0
        moved = (self.this - self.previous) / self.previous
        return moved if self.higher_is_better else -moved

    def verdict(self, within: float) -> str:
        change = self.change()
        if change >= 0:
            return "better" if change > 0 else "same"
        return "within" if -change <= within else "**worse**"


def figures(previous: dict[str, Any], this: dict[str, Any]) -> Iterator[Figure]:
    """Every figure both runs measured."""
    yield from _rows(previous, this)
    yield from _cpu(previous, this)
    yield from _growth(previous, this)
    yield from _memory(previous, this)


def _rows(previous: dict[str, Any], this: dict[str, Any]) -> Iterator[Figure]:
    for row, old in previous["results"].items():  # the rows with a rate, in the report's order
        new = this["results"].get(row)
        if not isinstance(old, dict) or not isinstance(new, dict) or "per_s" not in old:
            continue
        yield Figure(f"{row} rate (/s)", old["per_s"], new["per_s"], True)
        for quantile in ("p50_ms", "p99_ms"):
            if quantile in old and quantile in new:
                yield Figure(f"{row} {quantile[:3]} (ms)", old[quantile], new[quantile], False)


def _cpu(previous: dict[str, Any], this: dict[str, Any]) -> Iterator[Figure]:
    for row, old in previous.get("cpu", {}).items():
        new = this.get("cpu", {}).get(row)
        if not new:
            continue
        for side in ("python_ms", "postgres_ms"):
            if old.get(side) is not None and new.get(side) is not None:
                name = f"{row} CPU per {old.get('unit', 'op')}, {side[:-3]} (ms)"
                yield Figure(name, old[side], new[side], False)


def _growth(previous: dict[str, Any], this: dict[str, Any]) -> Iterator[Figure]:
    old_stages = previous["results"].get("growth", {}).get("stages", [])
    new_stages = this["results"].get("growth", {}).get("stages", [])
    for old, new in zip(old_stages, new_stages, strict=False):
        if old.get("target_entries") != new.get("target_entries"):
            continue
        for op in GROWTH_OPS:
            for quantile in ("p50_ms", "p99_ms"):
                name = f"growth {old['target_entries']:,} {op} {quantile[:3]} (ms)"
                yield Figure(name, old[op][quantile], new[op][quantile], False)


def _memory(previous: dict[str, Any], this: dict[str, Any]) -> Iterator[Figure]:
    old_phases = previous["results"].get("run", {}).get("phases", {})
    new_phases = this["results"].get("run", {}).get("phases", {})
    for row, old in old_phases.items():
        new = new_phases.get(row) or {}
        if old.get("worker_rss_mb") and new.get("worker_rss_mb"):
            old_mb, new_mb = max(old["worker_rss_mb"]), max(new["worker_rss_mb"])
            yield Figure(f"{row} largest worker RSS (MB)", old_mb, new_mb, False)


def machine_differences(previous: dict[str, Any], this: dict[str, Any]) -> list[str]:
    return [
        f"{key}: {previous['machine'].get(key)} / {this['machine'].get(key)}"
        for key in MACHINE
        if previous["machine"].get(key) != this["machine"].get(key)
    ]


def table(previous: dict[str, Any], this: dict[str, Any], within: float) -> str:
    found = list(figures(previous, this))
    counts = {v: sum(f.verdict(within) == v for f in found) for v in ("better", "same", "within")}
    worse = [f for f in found if f.verdict(within) == "**worse**"]
    lines = [
        f"Previous: {previous['machine'].get('commit')} at {previous.get('generated_at')}; "
        f"this: {this['machine'].get('commit')} at {this.get('generated_at')}.",
        "",
        f"{len(found)} figures: {counts['better']} better, {counts['same']} the same, "
        f"{counts['within']} worse by {within:.0%} or less, {len(worse)} worse by more"
        + (": " + ", ".join(f.name for f in worse) if worse else "")
        + ".",
        "",
        "| figure | previous | this run | change | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for figure in found:
        moved = (figure.this - figure.previous) / figure.previous if figure.previous else 0.0
        lines.append(
            f"| {figure.name} | {figure.previous:,.2f} | {figure.this:,.2f} | {moved:+.1%} "
            f"| {figure.verdict(within)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("previous", type=Path)
    parser.add_argument("this", type=Path)
    parser.add_argument("--within", type=float, default=10, help="percent")
    args = parser.parse_args()
    previous, this = (json.loads(path.read_text()) for path in (args.previous, args.this))
    for difference in machine_differences(previous, this):
        print(f"machines differ: {difference}")
    print(table(previous, this, args.within / 100))


if __name__ == "__main__":
    main()
