"""Fair inspections: which gradings are re-inspected, and which inspectors are flagged.

Pure: the store gives the rows, this module decides (docs/decisions/2026-12-06-fair-inspections.md).

Sampling is a keyed lottery: each grading's ticket is SHA-256(seed ‖ its id), and an inspector's
lowest tickets are drawn. Anyone holding the seed recomputes the same sample, in any language,
without Python's random module (whose algorithms may change between versions).

Flags are statistics, not verdicts: they inform a coordinator and never change points.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

SAMPLE_PERCENT = 1  # of an inspector's gradings with a photo on the day
SAMPLE_MIN_PER_INSPECTOR = 1
SAMPLE_MAX_PER_COORDINATOR = 20  # a day

Z_THRESHOLD = 3.0  # |z| at or above this flags the share of good grades or the volume
GOOD_SHARE_MIN_GRADINGS = 30  # fewer gradings say too little about a share
VOLUME_MIN_PEERS = 3  # a volume is compared with at least three other inspectors
PACE_GRADINGS = 10  # K: more than K gradings …
PACE_SECONDS = 60  # … within M seconds by one inspector is faster than a plausible pace
SOLE_INSPECTOR_DAYS = 20  # a household graded on this many days of a month, all by one inspector


def sampling_seed(secret: bytes, coordinator_id: int, day: date) -> bytes:
    """The seed of one coordinator's draw for one graded day: reproducible by whoever holds the
    secret (an auditor), unguessable by an inspector who does not."""
    message = f"reinspection|{coordinator_id}|{day.isoformat()}".encode()
    return hashlib.sha256(secret + b"|" + message).digest()


def ticket(seed: bytes, inspection_id: int) -> bytes:
    """A grading's lottery ticket: the lowest tickets are drawn."""
    return hashlib.sha256(seed + str(inspection_id).encode()).digest()


def sample_size(gradings: int, percent: int = SAMPLE_PERCENT) -> int:
    """1% of an inspector's gradings (rounded down), at least one; none of none."""
    if gradings <= 0:
        return 0
    return max(SAMPLE_MIN_PER_INSPECTOR, gradings * percent // 100)


def draw_sample(
    gradings_by_inspector: Mapping[int, Sequence[int]],
    seed: bytes,
    *,
    percent: int = SAMPLE_PERCENT,
    limit: int = SAMPLE_MAX_PER_COORDINATOR,
) -> list[int]:
    """The inspection ids to re-inspect: each inspector's lowest tickets, `sample_size` of them,
    taken in rounds (one per inspector a round, inspectors in ticket order) until `limit`, so a
    busy inspector cannot crowd the others out of a coordinator's day."""
    queues: list[list[int]] = []
    for inspector in sorted(gradings_by_inspector, key=lambda i: ticket(seed, -i)):
        ids = sorted(set(gradings_by_inspector[inspector]), key=lambda i: ticket(seed, i))
        queues.append(ids[: sample_size(len(ids), percent)])
    chosen: list[int] = []
    for round_ in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if round_ < len(queue) and len(chosen) < limit:
                chosen.append(queue[round_])
    return chosen


def disagreement_rate(regraded: int, disagreed: int) -> float | None:
    """Re-graded ≠ original over re-graded; None before anything was re-graded."""
    return None if regraded == 0 else disagreed / regraded


# --- anomaly flags --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InspectorCounts:
    inspector_id: int
    gradings: int
    good: int


@dataclass(frozen=True, slots=True)
class Flag:
    """One reason to look closer. `statistic` names how `value` was computed, `threshold` what
    it was compared with; `household_id` and `month` only for a sole-inspector flag."""

    kind: str  # good_share | volume | pace | sole_inspector
    inspector_id: int
    statistic: str
    value: float
    threshold: float
    detail: str
    household_id: int | None = None
    month: str | None = None


def good_share_flags(counts: Sequence[InspectorCounts]) -> list[Flag]:
    """Two-proportion z-test of the inspector's share of "good" against all their peers'
    gradings pooled: z = (p₁ − p₂) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)), flagged at |z| ≥ 3."""
    total = sum(c.gradings for c in counts)
    total_good = sum(c.good for c in counts)
    flags = []
    for c in counts:
        n2, g2 = total - c.gradings, total_good - c.good
        if c.gradings < GOOD_SHARE_MIN_GRADINGS or n2 < GOOD_SHARE_MIN_GRADINGS:
            continue
        pooled = (c.good + g2) / (c.gradings + n2)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / c.gradings + 1 / n2))
        if spread == 0:
            continue
        z = (c.good / c.gradings - g2 / n2) / spread
        if abs(z) >= Z_THRESHOLD:
            detail = f"{c.good}/{c.gradings} good against peers' {g2}/{n2}"
            flags.append(
                Flag("good_share", c.inspector_id, "two-proportion z", z, Z_THRESHOLD, detail)
            )
    return flags


def volume_flags(counts: Sequence[InspectorCounts]) -> list[Flag]:
    """Leave-one-out z-score of the inspector's number of gradings against the other inspectors'
    mean and sample standard deviation (at least 1 grading, so equal peers do not divide by 0),
    flagged at |z| ≥ 3 with at least three peers."""
    flags = []
    for c in counts:
        peers = [p.gradings for p in counts if p.inspector_id != c.inspector_id]
        if len(peers) < VOLUME_MIN_PEERS:
            continue
        mean = sum(peers) / len(peers)
        spread = math.sqrt(sum((p - mean) ** 2 for p in peers) / (len(peers) - 1))
        z = (c.gradings - mean) / max(spread, 1.0)
        if abs(z) >= Z_THRESHOLD:
            detail = f"{c.gradings} gradings against peers' mean {mean:.1f}"
            flags.append(Flag("volume", c.inspector_id, "z-score vs peers", z, Z_THRESHOLD, detail))
    return flags


def pace_flags(
    times_by_inspector: Mapping[int, Sequence[datetime]],
    *,
    most: int = PACE_GRADINGS,
    seconds: int = PACE_SECONDS,
) -> list[Flag]:
    """More than `most` gradings by one inspector within `seconds` (a sliding window over their
    grading times): the busiest window is reported, once per inspector."""
    flags = []
    for inspector, times in sorted(times_by_inspector.items()):
        ordered = sorted(times)
        busiest, start, first = 0, 0, None
        for end, moment in enumerate(ordered):
            while (moment - ordered[start]).total_seconds() > seconds:
                start += 1
            if end - start + 1 > busiest:
                busiest, first = end - start + 1, ordered[start]
        if busiest > most and first is not None:
            detail = f"{busiest} gradings within {seconds} s from {first.isoformat()}"
            flags.append(
                Flag("pace", inspector, f"gradings within {seconds} s", busiest, most, detail)
            )
    return flags


def sole_inspector_flags(
    gradings: Sequence[tuple[int, int, date]], *, days: int = SOLE_INSPECTOR_DAYS
) -> list[Flag]:
    """(household, inspector, local day) rows: a household graded on at least `days` days of a
    calendar month, every time by the same inspector."""
    inspectors: dict[tuple[int, str], set[int]] = defaultdict(set)
    graded_days: dict[tuple[int, str], set[date]] = defaultdict(set)
    for household, inspector, day in gradings:
        key = (household, day.isoformat()[:7])
        inspectors[key].add(inspector)
        graded_days[key].add(day)
    flags = []
    for (household, month), who in sorted(inspectors.items()):
        count = len(graded_days[(household, month)])
        if len(who) == 1 and count >= days:
            (inspector,) = who
            detail = f"household {household} graded on {count} days of {month}, all by one"
            flags.append(
                Flag(
                    "sole_inspector",
                    inspector,
                    "days graded by one inspector",
                    count,
                    days,
                    detail,
                    household_id=household,
                    month=month,
                )
            )
    return flags
