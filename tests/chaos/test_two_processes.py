"""Two API processes, one database (issue 8): the exact-count races of the foundation and
spending issues (tests/integration/test_concurrency.py, test_spending_concurrency.py), sent
through two `greenledger serve` processes on two ports at once, every other request to each.

Locks, the conditional UPDATEs and the idempotency record live in PostgreSQL, so the counts
must be exactly those of one process: nothing here may depend on memory inside a process.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chaos import report
from tests.chaos.ledger_checks import duplicates, entries_by_event, scalar, verify
from tests.chaos.load import Outcome, Request, clients, failure_kinds, race, tally
from tests.chaos.servers import (
    ApiServer,
    PrivatePostgres,
    PrivateRedis,
    cli,
    server_env,
)
from tests.chaos.world import USER_PASSWORD, created, get_json, new_event_id, sign_in

ADMIN = "chaos-admin"
CONNECTIONS_PER_PROCESS = 100
ROWS: list[dict[str, Any]] = []


@dataclass
class TwoProcesses:
    url: str
    env: dict[str, str]
    servers: list[ApiServer]


@pytest.fixture(scope="module")
def two(
    postgres: PrivatePostgres, redis_server: PrivateRedis, log_dir: Path
) -> Iterator[TwoProcesses]:
    url = postgres.create_database("chaos_two")
    env = server_env(url, redis_server.url(1))
    done = cli(env, "migrate")
    assert done.returncode == 0, done.stdout + done.stderr
    done = cli(env, "user", "add", ADMIN, "--role", "admin", "--password", USER_PASSWORD)
    assert done.returncode == 0, done.stdout + done.stderr
    servers = [ApiServer(env, 1, log_dir, f"two-{name}") for name in "AB"]
    with contextlib.ExitStack() as stack:
        for server in servers:
            server.start()
            stack.callback(server.stop)
        yield TwoProcesses(url, env, servers)
    report.record(
        "Two API processes, one database: two `greenledger serve` on two ports, "
        "requests alternating between them, all at once",
        ROWS,
    )


@pytest.fixture
async def pools(two: TwoProcesses) -> AsyncIterator[list[httpx.AsyncClient]]:
    made = clients([s.base_url for s in two.servers], CONNECTIONS_PER_PROCESS)
    try:
        yield made
    finally:
        for pool in made:
            await pool.aclose()


async def _race(two: TwoProcesses, requests: list[Request]) -> tuple[list[Outcome], float]:
    """All at once, on connections of their own: none left idle by the set-up, which the
    server may be closing (keep-alive timeout) just as the race's first request uses it."""
    fresh = clients([s.base_url for s in two.servers], CONNECTIONS_PER_PROCESS)
    try:
        return await race(fresh, requests)
    finally:
        for pool in fresh:
            await pool.aclose()


@dataclass
class Site:
    admin: dict[str, str]
    community_id: int
    compound_id: int


async def _site(pool: httpx.AsyncClient, name: str) -> Site:
    admin = await sign_in(pool, ADMIN, USER_PASSWORD)
    community = await created(pool, admin, "/api/v1/communities", {"name": f"{name}社区"})
    compound = await created(
        pool, admin, "/api/v1/compounds", {"community_id": community["id"], "name": f"{name}小区"}
    )
    return Site(admin, community["id"], compound["id"])


async def _household(pool: httpx.AsyncClient, site: Site, room: int) -> dict[str, Any]:
    body = {"compound_id": site.compound_id, "building": "1", "unit": "1", "room": str(room)}
    return await created(pool, site.admin, "/api/v1/households", body)


async def _credit(pool: httpx.AsyncClient, site: Site, account_id: int, points: int) -> None:
    body = {"account_id": account_id, "amount_points": points, "reason": "chaos opening"}
    await created(pool, site.admin, "/api/v1/adjustments", body)


def _split(outcomes: list[Outcome]) -> str:
    ok = Counter(o.request.server for o in outcomes if o.status == "ok")
    return f"{ok[0]}/{ok[1]}"


def _codes(outcomes: list[Outcome]) -> dict[str, int]:
    return dict(Counter("ok" if o.status == "ok" else str(o.code) for o in outcomes))


def _row(
    name: str, outcomes: list[Outcome], seconds: float, entries: int, dups: int, state: str
) -> dict[str, Any]:
    counts = tally(outcomes)
    return {
        "race": name,
        "requests": counts["sent"],
        "answers": ", ".join(f"{n} {code}" for code, n in sorted(_codes(outcomes).items())),
        "ok via A/B": _split(outcomes),
        "retried": counts["retried"],
        "failed tries": ", ".join(f"{n} {kind}" for kind, n in failure_kinds(outcomes).items())
        or "0",
        "entries": entries,
        "duplicates": dups,
        "state after": state,
        "seconds": f"{seconds:.1f}",
    }


def _assert_verified(two: TwoProcesses) -> None:
    proof = verify(two.env)
    assert proof.ok, proof.output


async def test_400_debits_of_10_against_1000_exactly_100_succeed(
    two: TwoProcesses, pools: list[httpx.AsyncClient]
) -> None:
    site = await _site(pools[0], "透支")
    household = await _household(pools[0], site, 101)
    account_id = household["account_id"]
    await _credit(pools[0], site, account_id, 1_000)
    requests = [
        Request(
            "/api/v1/adjustments",
            {
                "event_id": new_event_id("debit"),
                "account_id": account_id,
                "amount_points": -10,
                "reason": "spend",
            },
            site.admin,
            server=n % 2,
        )
        for n in range(400)
    ]
    outcomes, seconds = await _race(two, requests)
    found = await entries_by_event(two.url, [r.event_id for r in requests])
    balance = (await get_json(pools[1], site.admin, f"/api/v1/accounts/{account_id}"))[
        "balance_points"
    ]
    entries = await scalar(
        two.url,
        "SELECT COUNT(*) FROM entry WHERE debit_account_id = $1 OR credit_account_id = $1",
        account_id,
    )
    ROWS.append(
        _row("400 debits of 10 on 1,000", outcomes, seconds, sum(map(len, found.values())),
             duplicates(found), f"balance {balance}, {entries} entries on the account")
    )  # fmt: skip
    print("\n" + report.table("overdraw", ROWS[-1:]))

    assert _codes(outcomes) == {"ok": 100, "insufficient_points": 300}
    assert all(o.http_status == 409 for o in outcomes if o.status == "refused")
    assert sorted(o.reply["balance_points"] for o in outcomes if o.status == "ok" and o.reply) == (
        list(range(0, 1_000, 10))
    )
    ok_ids = {o.request.event_id for o in outcomes if o.status == "ok"}
    assert {key: len(v) for key, v in found.items()} == dict.fromkeys(ok_ids, 1)
    assert balance == 0
    assert entries == 1 + 100
    assert all(Counter(o.request.server for o in outcomes if o.status == "ok").values())
    _assert_verified(two)


async def test_200_event_ids_each_sent_by_8_clients_over_both_processes(
    two: TwoProcesses, pools: list[httpx.AsyncClient]
) -> None:
    site = await _site(pools[0], "幂等")
    household = await _household(pools[0], site, 102)
    account_id = household["account_id"]
    prefix = new_event_id("race")[:40]
    amounts = {f"{prefix}-{n}": 1 + n % 50 for n in range(200)}
    requests = [
        Request(
            "/api/v1/adjustments",
            {"event_id": key, "account_id": account_id, "amount_points": amount, "reason": "race"},
            site.admin,
            server=copy % 2,  # four copies of each event through each process
        )
        for copy in range(8)
        for key, amount in amounts.items()
    ]
    outcomes, seconds = await _race(two, requests)
    found = await entries_by_event(two.url, list(amounts))
    balance = (await get_json(pools[0], site.admin, f"/api/v1/accounts/{account_id}"))[
        "balance_points"
    ]
    by_event: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_event.setdefault(outcome.request.event_id, []).append(outcome)
    distinct_replies = {key: {str(o.reply) for o in group} for key, group in by_event.items()}
    entry_ids = {o.reply["entry_id"] for o in outcomes if o.status == "ok" and o.reply}
    ROWS.append(
        _row("200 event ids x 8 clients", outcomes, seconds, sum(map(len, found.values())),
             duplicates(found), f"balance {balance} (= sum of 200), {len(entry_ids)} entry ids")
    )  # fmt: skip
    print("\n" + report.table("idempotency", ROWS[-1:]))

    assert _codes(outcomes) == {"ok": 1_600}
    assert {key: len(v) for key, v in found.items()} == dict.fromkeys(amounts, 1)
    assert all(len(replies) == 1 for replies in distinct_replies.values()), [
        (key, replies) for key, replies in distinct_replies.items() if len(replies) > 1
    ][:3]
    assert len(entry_ids) == 200
    assert balance == sum(amounts.values())
    _assert_verified(two)


async def test_50_redemptions_of_the_last_10_units_exactly_10(
    two: TwoProcesses, pools: list[httpx.AsyncClient]
) -> None:
    site = await _site(pools[0], "兑换")
    households = [await _household(pools[n % 2], site, 1_000 + n) for n in range(50)]
    for n, household in enumerate(households):
        await _credit(pools[n % 2], site, household["account_id"], 100)
    reward = await created(
        pools[0],
        site.admin,
        "/api/v1/rewards",
        {
            "community_id": site.community_id,
            "name": "最后十件",
            "cost_points": 30,
            "stock": 10,
            "monthly_limit_per_household": 1,
        },
    )
    clerk_name = new_event_id("clerk")[:30]
    await created(
        pools[0],
        site.admin,
        "/api/v1/users",
        {
            "username": clerk_name,
            "password": USER_PASSWORD,
            "role": "clerk",
            "compound_ids": [site.compound_id],
        },
    )
    clerk = await sign_in(pools[0], clerk_name, USER_PASSWORD)
    requests = [
        Request(
            "/api/v1/redemptions",
            {
                "event_id": new_event_id("redeem"),
                "reward_id": reward["id"],
                "household_token": household["card_token"],
                "quantity": 1,
            },
            clerk,
            server=n % 2,
        )
        for n, household in enumerate(households)
    ]
    outcomes, seconds = await _race(two, requests)
    found = await entries_by_event(two.url, [r.event_id for r in requests])
    stock = await scalar(two.url, "SELECT stock FROM reward WHERE id = $1", reward["id"])
    redemptions = await scalar(
        two.url, "SELECT COUNT(*) FROM redemption WHERE reward = $1", reward["id"]
    )
    balances = sorted(
        [
            (await get_json(pools[0], site.admin, f"/api/v1/accounts/{h['account_id']}"))[
                "balance_points"
            ]
            for h in households
        ]
    )
    ROWS.append(
        _row("50 redemptions, last 10 units", outcomes, seconds, sum(map(len, found.values())),
             duplicates(found), f"stock {stock}, {redemptions} redemptions")
    )  # fmt: skip
    print("\n" + report.table("last units", ROWS[-1:]))

    assert _codes(outcomes) == {"ok": 10, "out_of_stock": 40}
    assert stock == 0
    assert redemptions == 10
    assert balances == [70] * 10 + [100] * 40
    assert sum(map(len, found.values())) == 10
    _assert_verified(two)


def test_uses_two_server_processes(two: TwoProcesses) -> None:
    """The races above really went through two processes (different pids, both alive)."""
    pids = [pid for server in two.servers for pid in server.worker_pids()]
    assert len(set(pids)) == 2
    assert all(
        server.process is not None and server.process.poll() is None for server in two.servers
    )
