"""The grading committer's own account of a phase, from the server's /metrics (issue 16).

Two histograms (ledger/metrics.py): `greenledger_grading_group_size` (gradings per committed
group) and `greenledger_grading_wait_seconds` (each grading's wait from its arrival at the
committer to the start of its group's transaction). The bench scrapes /metrics before and after
a phase and subtracts bucket by bucket, so what earlier phases recorded does not count. The
quantiles are interpolated linearly inside the bucket the rank falls in, as Prometheus's
`histogram_quantile` does: a bucket-interpolated estimate, as fine as the buckets.
"""

from __future__ import annotations

import math
from typing import Any

GROUP_SIZE = "greenledger_grading_group_size"
WAIT = "greenledger_grading_wait_seconds"

# le -> cumulative count, plus the histogram's _sum and _count.
Histogram = dict[str, Any]


def histograms(text: str | None) -> dict[str, Histogram] | None:
    """The two histograms out of Prometheus's text format; None if there was no scrape."""
    if text is None:
        return None
    found: dict[str, Histogram] = {
        name: {"buckets": {}, "sum": 0.0, "count": 0.0} for name in (GROUP_SIZE, WAIT)
    }
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_and_labels, _, value = line.rpartition(" ")
        name, _, labels = name_and_labels.partition("{")
        for metric, histogram in found.items():
            if name == f"{metric}_bucket":
                le = _label(labels, "le")
                if le is not None:
                    bound = math.inf if le == "+Inf" else float(le)
                    histogram["buckets"][bound] = histogram["buckets"].get(bound, 0.0) + float(
                        value
                    )
            elif name == f"{metric}_sum":
                histogram["sum"] += float(value)
            elif name == f"{metric}_count":
                histogram["count"] += float(value)
    return found


def _label(labels: str, key: str) -> str | None:
    for pair in labels.rstrip("}").split(","):
        name, _, quoted = pair.partition("=")
        if name.strip() == key:
            return quoted.strip().strip('"')
    return None


def difference(after: Histogram, before: Histogram) -> Histogram:
    return {
        "buckets": {
            bound: count - before["buckets"].get(bound, 0.0)
            for bound, count in after["buckets"].items()
        },
        "sum": after["sum"] - before["sum"],
        "count": after["count"] - before["count"],
    }


def quantile(histogram: Histogram, fraction: float, lowest: float = 0.0) -> float | None:
    """Bucket-interpolated quantile of cumulative buckets; `lowest` is where the first bucket
    starts (1 for group sizes, which are never below 1). A rank in the +Inf bucket gives the
    largest finite bound (the true value is above it)."""
    total: float = histogram["count"]
    if total <= 0:
        return None
    rank = fraction * total
    previous_bound, previous_count = lowest, 0.0
    buckets: dict[float, float] = histogram["buckets"]
    for bound in sorted(buckets):
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return previous_bound
            if count == previous_count:
                return bound
            start = min(previous_bound, bound)
            return start + (bound - start) * (rank - previous_count) / (count - previous_count)
        previous_bound, previous_count = bound, count
    return previous_bound


def phase_stats(before_text: str | None, after_text: str | None) -> dict[str, Any]:
    """Group size and added wait over one phase: p50, p99 (bucket-interpolated), mean."""
    before, after = histograms(before_text), histograms(after_text)
    if before is None or after is None:
        return {"scraped": False, "groups": None}
    sizes = difference(after[GROUP_SIZE], before[GROUP_SIZE])
    waits = difference(after[WAIT], before[WAIT])
    groups = round(sizes["count"])
    if groups <= 0:
        return {"scraped": True, "groups": 0, "gradings": 0}
    return {
        "scraped": True,
        "groups": groups,
        "gradings": round(sizes["sum"]),
        "group_size": {
            "p50": _round(quantile(sizes, 0.50, lowest=1.0)),
            "p99": _round(quantile(sizes, 0.99, lowest=1.0)),
            "mean": _round(sizes["sum"] / groups),
        },
        "wait_ms": {
            "p50": _round(_ms(quantile(waits, 0.50))),
            "p99": _round(_ms(quantile(waits, 0.99))),
            "mean": _round(_ms(waits["sum"] / waits["count"]) if waits["count"] > 0 else None),
        },
        "quantiles": "bucket-interpolated",
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
