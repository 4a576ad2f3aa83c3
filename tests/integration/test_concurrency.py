"""Races through the service layer on real PostgreSQL: many clients on one event id, one
balance, one entry, with exact counts (as TigerBeetle and Blnk test their ledgers).

Every request runs as its own task with asyncio.gather over the 10-connection pool, so requests
really interleave inside the database. Counts are exact; run with `-s` to see the figures.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Sequence

import pytest

from ledger.domain.access import SYSTEM
from ledger.domain.accounts import ISSUANCE_STRIPES, AccountKind
from ledger.domain.errors import AlreadyReversed, InsufficientPoints, LedgerError
from ledger.services.accounts import Adjusted, Reversed
from ledger.services.container import Services
from ledger.store.tables import Account, Entry
from tests.factories import credit, make_household, make_world

pytestmark = pytest.mark.postgres

Outcome = Adjusted | Reversed | LedgerError


async def _race(requests: Sequence[Awaitable[Adjusted | Reversed]]) -> tuple[list[Outcome], float]:
    """All requests at once; refusals are outcomes, anything else fails the test."""
    started = time.perf_counter()
    gathered = await asyncio.gather(*requests, return_exceptions=True)
    seconds = time.perf_counter() - started
    outcomes: list[Outcome] = []
    for outcome in gathered:
        if isinstance(outcome, BaseException) and not isinstance(outcome, LedgerError):
            raise outcome
        outcomes.append(outcome)
    return outcomes, seconds


async def _balance(services: Services, account_id: int) -> int:
    return int((await services.accounts.account(SYSTEM, account_id)).balance_points)


async def _assert_verified(services: Services) -> None:
    await services.sealer.seal_all()
    report = await services.verifier.verify()
    assert report.ok, report
    assert report.pending_seal == 0


async def test_400_debits_of_10_against_1000_points_exactly_100_succeed(
    services: Services,
) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 1_000)
    outcomes, seconds = await _race(
        [
            services.accounts.adjust(SYSTEM, f"debit-{n}", world.account_id, -10, "spend")
            for n in range(400)
        ]
    )
    succeeded = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, InsufficientPoints)]
    print(
        f"\noverdraw: {len(succeeded)} ok, {len(refused)} insufficient_points, "
        f"{len(outcomes) - len(succeeded) - len(refused)} other, in {seconds:.2f} s "
        f"({len(outcomes) / seconds:.0f} requests/s)"
    )
    assert (len(succeeded), len(refused)) == (100, 300)
    assert sorted(o.balance_points for o in succeeded) == list(range(0, 1_000, 10))
    assert await _balance(services, world.account_id) == 0
    assert await Entry.count() == 1 + 100
    await _assert_verified(services)


async def test_200_event_ids_each_sent_by_8_clients_post_exactly_200_entries(
    services: Services,
) -> None:
    world = await make_world(services)
    amounts = {f"race-{n}": 1 + n % 50 for n in range(200)}
    requests = [
        services.accounts.adjust(SYSTEM, key, world.account_id, amount, "race")
        for _client in range(8)
        for key, amount in amounts.items()
    ]
    outcomes, seconds = await _race(requests)
    by_key: dict[str, list[Outcome]] = {key: [] for key in amounts}
    for index, outcome in enumerate(outcomes):
        by_key[list(amounts)[index % len(amounts)]].append(outcome)
    entries = await Entry.count()
    print(
        f"\nidempotency race: {len(outcomes)} requests for {len(amounts)} event ids -> "
        f"{entries} entries, in {seconds:.2f} s ({len(outcomes) / seconds:.0f} requests/s)"
    )
    assert entries == 200
    entry_ids = set()
    for key, results in by_key.items():
        first = results[0]
        assert isinstance(first, Adjusted), (key, results)
        assert all(result == first for result in results), (key, results)
        entry_ids.add(first.entry_id)
    assert len(entry_ids) == 200
    assert await _balance(services, world.account_id) == sum(amounts.values())
    await _assert_verified(services)


async def test_credits_across_households_spread_over_the_issuance_stripes(
    services: Services,
) -> None:
    world = await make_world(services)
    households = [world.account_id] + [
        (await make_household(services, world.compound_id)).account_id for _ in range(49)
    ]
    plan = [(f"stripe-{n}", households[n % 50], 1 + n % 7) for n in range(500)]
    outcomes, seconds = await _race(
        [services.accounts.adjust(SYSTEM, key, account, n, "credit") for key, account, n in plan]
    )
    assert not any(isinstance(o, BaseException) for o in outcomes)
    issuance = await (
        Account.select(Account.stripe, Account.balance_points)
        .where(Account.community == world.community_id)
        .where(Account.kind == AccountKind.ISSUANCE.value)
    )
    touched = {row["stripe"]: -row["balance_points"] for row in issuance if row["balance_points"]}
    print(
        f"\nstriped credits: {len(outcomes)} credits to {len(households)} households in "
        f"{seconds:.2f} s ({len(outcomes) / seconds:.0f}/s); {len(touched)} of "
        f"{ISSUANCE_STRIPES} issuance stripes touched, points per stripe "
        f"{dict(sorted(touched.items()))}"
    )
    assert len(touched) > 1
    assert sum(touched.values()) == sum(n for _key, _account, n in plan)
    expected: Counter[int] = Counter()
    for _key, account, n in plan:
        expected[account] += n
    for account, points in expected.items():
        assert await _balance(services, account) == points
    await _assert_verified(services)


async def test_two_concurrent_reversals_of_one_entry_exactly_one_succeeds(
    services: Services,
) -> None:
    """50 entries (credits and debits), each reversed by two clients at the same moment."""
    world = await make_world(services)
    await credit(services, world.account_id, 10_000)
    originals = [
        await services.accounts.adjust(
            SYSTEM, f"original-{n}", world.account_id, n + 1 if n % 2 else -(n + 1), "original"
        )
        for n in range(50)
    ]
    requests = [
        services.accounts.reverse(SYSTEM, f"reverse-{n}-{client}", original.entry_id, "undo")
        for n, original in enumerate(originals)
        for client in range(2)
    ]
    outcomes, seconds = await _race(requests)
    pairs = [outcomes[i : i + 2] for i in range(0, len(outcomes), 2)]
    tally = Counter(type(o).__name__ if isinstance(o, BaseException) else "ok" for o in outcomes)
    print(f"\nreversal race: 50 entries x 2 clients -> {dict(tally)} in {seconds:.2f} s")
    for original, pair in zip(originals, pairs, strict=True):
        winners = [o for o in pair if not isinstance(o, BaseException)]
        losers = [o for o in pair if isinstance(o, AlreadyReversed)]
        assert (len(winners), len(losers)) == (1, 1), (original, pair)
        assert winners[0].reverses_entry_id == original.entry_id
        assert losers[0].extra["reversal_entry_id"] == winners[0].entry_id
    assert await _balance(services, world.account_id) == 10_000
    await _assert_verified(services)


async def test_losing_reversal_of_a_whole_balance_credit_is_already_reversed(
    services: Services,
) -> None:
    """20 households whose whole balance is one credit; two clients reverse each credit."""
    world = await make_world(services)
    households = [world.account_id] + [
        (await make_household(services, world.compound_id)).account_id for _ in range(19)
    ]
    originals = [await credit(services, account, 25) for account in households]
    outcomes, _seconds = await _race(
        [
            services.accounts.reverse(SYSTEM, f"undo-{n}-{client}", original["entry_id"], "undo")
            for n, original in enumerate(originals)
            for client in range(2)
        ]
    )
    tally = Counter(type(o).__name__ if isinstance(o, BaseException) else "ok" for o in outcomes)
    print(f"\nwhole-balance reversal race: 20 entries x 2 clients -> {dict(tally)}")
    for account in households:
        assert await _balance(services, account) == 0
    await _assert_verified(services)
    assert tally == {"ok": 20, "AlreadyReversed": 20}, tally
