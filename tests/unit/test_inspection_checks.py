"""Fair inspections' pure parts: the keyed draw with a fixed seed (exact ids, 1%, bounds 1..20)
and each anomaly flag on a world with one planted outlier among ordinary peers."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest

from ledger.domain.inspection_checks import (
    PACE_GRADINGS,
    PACE_SECONDS,
    SAMPLE_MAX_PER_COORDINATOR,
    InspectorCounts,
    disagreement_rate,
    draw_sample,
    good_share_flags,
    pace_flags,
    sample_size,
    sampling_seed,
    sole_inspector_flags,
    volume_flags,
)

SEED = b"fixed seed for tests"


def test_a_fixed_seed_draws_exactly_these_ids() -> None:
    """Pinned: a change to the lottery changes every past draw an auditor recomputes."""
    population = {7: list(range(100, 350)), 8: list(range(400, 550)), 9: list(range(600, 650))}
    # 250 gradings → 2 (1%), 150 → 1, 50 → 1 (at least one); inspectors in ticket order.
    assert draw_sample(population, SEED) == [629, 130, 514, 104]
    assert draw_sample({7: list(range(1, 11))}, SEED) == [6]


def test_the_draw_is_each_inspectors_lowest_tickets() -> None:
    ids = list(range(1000, 1300))
    chosen = draw_sample({1: ids}, SEED)
    ranked = sorted(ids, key=lambda i: hashlib.sha256(SEED + str(i).encode()).digest())
    assert chosen == ranked[:3]


@pytest.mark.parametrize(
    ("gradings", "size"), [(0, 0), (1, 1), (99, 1), (100, 1), (199, 1), (250, 2), (2500, 25)]
)
def test_one_percent_rounded_down_at_least_one(gradings: int, size: int) -> None:
    assert sample_size(gradings) == size


def test_at_most_twenty_a_coordinator_a_day_spread_over_inspectors() -> None:
    assert len(draw_sample({1: list(range(1, 2501))}, SEED)) == SAMPLE_MAX_PER_COORDINATOR
    many = {
        inspector: list(range(inspector * 100, inspector * 100 + 10)) for inspector in range(30)
    }
    chosen = draw_sample(many, SEED)
    assert len(chosen) == SAMPLE_MAX_PER_COORDINATOR
    assert len({i // 100 for i in chosen}) == SAMPLE_MAX_PER_COORDINATOR  # one each, 20 of 30
    # A busy inspector does not crowd out the others: each of three gets at least one.
    busy = {1: list(range(10_000, 14_000)), 2: [1, 2, 3], 3: [4, 5]}
    chosen = draw_sample(busy, SEED)
    assert len(chosen) == SAMPLE_MAX_PER_COORDINATOR
    small = sorted(i for i in chosen if i < 10)
    assert len(small) == 2
    assert small[0] in {1, 2, 3}
    assert small[1] in {4, 5}


def test_the_same_seed_draws_the_same_and_another_seed_another() -> None:
    population = {1: list(range(1, 2001)), 2: list(range(3000, 3500))}
    assert draw_sample(population, SEED) == draw_sample(dict(reversed(population.items())), SEED)
    assert draw_sample(population, SEED) != draw_sample(population, SEED + b"!")
    day = date(2026, 12, 6)
    assert sampling_seed(b"k", 5, day) == sampling_seed(b"k", 5, day)
    assert sampling_seed(b"k", 5, day) != sampling_seed(b"k", 6, day)
    assert sampling_seed(b"k", 5, day) != sampling_seed(b"k", 5, day + timedelta(days=1))


def test_disagreement_rate() -> None:
    assert disagreement_rate(0, 0) is None
    assert disagreement_rate(4, 1) == 0.25


# --- flags: five ordinary inspectors and one planted outlier ---------------------------------

PEERS = [InspectorCounts(i, 400 + 10 * i, 240 + 6 * i) for i in range(1, 6)]  # ~60% good


def test_a_share_of_good_far_from_the_peers_is_flagged_and_theirs_are_not() -> None:
    lenient = InspectorCounts(99, 420, 400)  # 95% good
    flags = good_share_flags([*PEERS, lenient])
    assert [f.inspector_id for f in flags] == [99]
    assert flags[0].statistic == "two-proportion z"
    assert flags[0].value >= 3
    assert good_share_flags(PEERS) == []
    # Too few gradings say nothing, however lenient.
    assert good_share_flags([*PEERS, InspectorCounts(98, 20, 20)]) == []


def test_a_volume_far_from_the_peers_is_flagged_and_theirs_are_not() -> None:
    busy = InspectorCounts(99, 1500, 900)
    flags = volume_flags([*PEERS, busy])
    assert [f.inspector_id for f in flags] == [99]
    assert flags[0].value >= 3
    assert volume_flags(PEERS) == []
    assert volume_flags([PEERS[0], PEERS[1], busy]) == []  # fewer than three peers


def test_more_than_k_gradings_within_m_seconds_is_flagged() -> None:
    start = datetime(2026, 12, 5, 0, 30, tzinfo=UTC)
    steady = [start + timedelta(seconds=30 * n) for n in range(200)]  # two a minute
    rushed = [start + timedelta(seconds=5 * n) for n in range(PACE_GRADINGS + 1)]  # 11 in 50 s
    just_enough = [start + timedelta(seconds=6 * n) for n in range(PACE_GRADINGS)]  # 10: allowed
    flags = pace_flags({1: steady, 2: just_enough, 99: rushed})
    assert [f.inspector_id for f in flags] == [99]
    assert flags[0].value == PACE_GRADINGS + 1
    assert PACE_SECONDS == 60


def test_a_household_graded_a_whole_month_by_one_inspector_is_flagged() -> None:
    november = [date(2026, 11, d) for d in range(1, 31)]
    sole = [(10, 99, day) for day in november]
    rotated = [(11, 1 if day.day <= 14 else 2, day) for day in november]
    sometimes = [(12, 3, day) for day in november[:10]]  # one inspector, but only 10 days
    flags = sole_inspector_flags([*sole, *rotated, *sometimes])
    assert [(f.household_id, f.inspector_id, f.month) for f in flags] == [(10, 99, "2026-11")]
    assert flags[0].value == 30
