"""bench/compare.py: rates better when higher, latencies, CPU and memory when lower; a change
past the margin is worse, and a figure only one run measured is left out."""

from __future__ import annotations

from typing import Any

from bench.compare import figures, table


def _run(
    rate: float, p99: float, python_ms: float, rss: float, credit_p50: float
) -> dict[str, Any]:
    growth = {
        "stages": [
            {"target_entries": 10_000}
            | {op: _quantiles(credit_p50) for op in ("credit", "balance", "board", "board_sql")}
        ]
    }
    return {
        "generated_at": "then",
        "machine": {"commit": "abc", "nproc": 2},
        "results": {
            "http_inspections": {"per_s": rate, "p50_ms": 50.0, "p99_ms": p99},
            "growth": growth,
            "run": {"phases": {"http_inspections": {"worker_rss_mb": [rss, rss - 1]}}},
        },
        "cpu": {
            "http_inspections": {"python_ms": python_ms, "postgres_ms": None, "unit": "credit"}
        },
    }


def _quantiles(p50: float) -> dict[str, float]:
    return {"p50_ms": p50, "p99_ms": 2 * p50}


def test_each_figure_is_judged_in_its_own_direction() -> None:
    previous = _run(rate=700, p99=300, python_ms=1.9, rss=150, credit_p50=4.0)
    this = _run(rate=650, p99=360, python_ms=1.8, rss=155, credit_p50=4.0)
    verdicts = {f.name: f.verdict(0.10) for f in figures(previous, this)}
    assert verdicts["http_inspections rate (/s)"] == "within"  # -7 %
    assert verdicts["http_inspections p99 (ms)"] == "**worse**"  # +20 % is slower
    assert verdicts["http_inspections p50 (ms)"] == "same"
    assert verdicts["http_inspections CPU per credit, python (ms)"] == "better"
    assert "http_inspections CPU per credit, postgres (ms)" not in verdicts  # not measured
    assert verdicts["http_inspections largest worker RSS (MB)"] == "within"
    assert verdicts["growth 10,000 credit p50 (ms)"] == "same"
    assert "1 worse by more: http_inspections p99 (ms)" in table(previous, this, 0.10)
