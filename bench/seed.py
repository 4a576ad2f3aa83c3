"""A fresh bench database: migrated, then seeded through the ledger's own store functions.

    python -m bench.seed --db bench_seed --households 60000 --compounds 120
    python -m bench.seed --sqlite var/bench/embedded.sqlite --households 4000 --compounds 8
    python -m bench.seed --db bench_gl --spending 1000 --fixture F --spending-fixture S

One community (16 issuance stripes), compounds of equal size, one collection point per
compound, and a rules version whose daily cap never binds, so that every (household, stream)
pair scores exactly once a day: the phases hand out disjoint pairs and every credit earns 10
points. An inspector and a clerk cover every compound. The fixture (ids and signed QR tokens)
is written as JSON for the other phases.

`--spending N` adds the counter's world to an already seeded database (the one the HTTP
phases use; the floor's and the growth's copies stay without it): a compound of N households,
each given SPENDING_POINTS by an adjustment (`Accounts.adjust`, the ledger's own way in), one
reward with stock for every redemption the phase can make, and SPENDING_CLERKS clerks covering
that compound. Then one `Spending.redeem` is made with every statement recorded, as the
service phase records a credit's (the last household is kept for it, out of the rotation).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    BENCH_DAILY_CAP,
    CLERK,
    INSPECTOR,
    PASSWORD,
    REWARD_COST,
    REWARD_STOCK,
    SPENDING_CLERKS,
    SPENDING_POINTS,
    CaptureStatements,
    configure_in_process,
    log,
    pg_url,
    recreate_database,
    spending_clerk,
    write_result,
)


def _addresses(count: int) -> list[tuple[str, str, str]]:
    """Building, unit and room: 3 units x 6 floors x 2 rooms a building."""
    return [
        (str(i // 36 + 1), str(i // 12 % 3 + 1), f"{i // 2 % 6 + 1}{i % 2 + 1:02d}")
        for i in range(count)
    ]


async def seed(households: int, compounds: int) -> dict[str, Any]:
    from argon2 import PasswordHasher

    from api.settings import Settings
    from ledger.domain.access import Role
    from ledger.domain.rules import DEFAULT_RULES, EarningRules
    from ledger.domain.scan_codes import CodeKind
    from ledger.services.container import Services
    from ledger.services.rules import add_version
    from ledger.store import bulk
    from ledger.store import ledger as ledger_store
    from ledger.store import registry as registry_store
    from ledger.store.migrate import migrate
    from ledger.store.tables import (
        CollectionPoint,
        Community,
        Compound,
        EarningRule,
        Household,
    )

    ok, message = await migrate()
    assert ok, message
    settings = Settings.from_env()
    services = Services.build(settings.keyring(), settings.base_url)
    password_hash = PasswordHasher().hash(PASSWORD)
    await services.db.start()
    try:
        now = services.clock.now()
        async with services.db.write():
            community_id = await registry_store.insert(Community, name="bench", created_at=now)
            await ledger_store.open_community_accounts(community_id, now)
            rules = EarningRules(
                grade_points=DEFAULT_RULES.grade_points, grading_daily_cap_points=BENCH_DAILY_CAP
            )
            effective = now - timedelta(days=3 * 366)
            await add_version(community_id, rules, effective, "bench", now)
            compound_ids: list[int] = []
            per = households // compounds
            for index in range(compounds):
                compound_id = await registry_store.insert(
                    Compound, community=community_id, name=f"bench-{index + 1}", created_at=now
                )
                compound_ids.append(compound_id)
                await bulk.add_households(community_id, compound_id, _addresses(per), now)
                await registry_store.insert(
                    CollectionPoint,
                    compound=compound_id,
                    name=f"bench-{index + 1} point",
                    windows="",
                    card_serial=1,
                    created_at=now,
                )
            scope = frozenset(compound_ids)
            inspector = await services.users.add(
                INSPECTOR, password_hash, Role.INSPECTOR, compound_ids=scope
            )
            clerk = await services.users.add(CLERK, password_hash, Role.CLERK, compound_ids=scope)
        rows = await Household.select(Household.id, Household.account, Household.compound).order_by(
            Household.id
        )
        points = await CollectionPoint.select(CollectionPoint.id, CollectionPoint.compound)
        version = await EarningRule.select(EarningRule.version).first()
        codes = services.codes
        return {
            "community_id": community_id,
            "rule_version": version["version"] if version else None,
            "compounds": compound_ids,
            "households": [
                [
                    row["id"],
                    row["account"],
                    row["compound"],
                    codes.token(CodeKind.HOUSEHOLD, row["id"], 1),
                ]
                for row in rows
            ],
            "points": {
                str(row["compound"]): [row["id"], codes.token(CodeKind.POINT, row["id"], 1)]
                for row in points
            },
            "inspector": {"id": inspector.id, "username": INSPECTOR},
            "clerk": {"id": clerk.id, "username": CLERK},
        }
    finally:
        await services.db.close()


async def seed_spending(households: int, fixture: dict[str, Any]) -> dict[str, Any]:
    """The counter: households with points to spend, one reward, the clerks (see the top)."""
    import uuid

    from argon2 import PasswordHasher

    from api.settings import Settings
    from ledger.domain.access import SYSTEM, Principal, Role
    from ledger.services.catalog import RewardFields
    from ledger.services.container import Services
    from ledger.store import bulk
    from ledger.store import registry as registry_store
    from ledger.store.tables import Compound, Household

    community_id = fixture["community_id"]
    settings = Settings.from_env()
    services = Services.build(settings.keyring(), settings.base_url)
    password_hash = PasswordHasher().hash(PASSWORD)
    run = uuid.uuid4().hex[:8]
    await services.db.start()
    try:
        now = services.clock.now()
        async with services.db.write():
            compound_id = await registry_store.insert(
                Compound, community=community_id, name=f"bench-counter-{run}", created_at=now
            )
            await bulk.add_households(community_id, compound_id, _addresses(households), now)
            clerks = []
            for number in range(1, SPENDING_CLERKS + 1):
                added = await services.users.add(
                    spending_clerk(number),
                    password_hash,
                    Role.CLERK,
                    compound_ids=frozenset({compound_id}),
                )
                clerks.append({"id": added.id, "username": spending_clerk(number)})
        rows = (
            await Household.select(Household.id, Household.account, Household.compound)
            .where(Household.compound == compound_id)
            .order_by(Household.id)
        )
        for row in rows:
            await services.accounts.adjust(
                SYSTEM,
                f"bench-points-{run}-{row['id']}",
                row["account"],
                SPENDING_POINTS,
                "bench: points to spend at the counter",
            )
        reward = await services.catalog.create(
            SYSTEM,
            f"bench-reward-{run}",
            community_id,
            RewardFields(name=f"bench reward {run}", cost_points=REWARD_COST, stock=REWARD_STOCK),
        )
        clerk = Principal(
            user_id=clerks[0]["id"],
            username=clerks[0]["username"],
            role=Role.CLERK,
            compound_ids=frozenset({compound_id}),
        )
        kept = rows[-1]
        token = _token(services, kept["id"])
        # The first redemption of a process also reads the redeemed account's id (once per
        # process, as a server worker does): record the second, what every later one sends.
        replies = [
            await services.spending.redeem(clerk, f"bench-spend-{run}-0", token, reward.id, 1)
        ]
        with CaptureStatements() as captured:
            replies.append(
                await services.spending.redeem(clerk, f"bench-spend-{run}-1", token, reward.id, 1)
            )
        captured_ok = replies[-1].balance_points == SPENDING_POINTS - 2 * REWARD_COST
        return {
            "community_id": community_id,
            "compound_id": compound_id,
            "reward_id": reward.id,
            "cost_points": REWARD_COST,
            "stock_seeded": REWARD_STOCK,
            "stock_before": REWARD_STOCK - len(replies),
            "points_each": SPENDING_POINTS,
            "clerks": clerks,
            "households": [
                [row["id"], row["account"], row["compound"], _token(services, row["id"])]
                for row in rows[:-1]
            ],
            "statements": captured.shapes(),
            "captured_redemption_ok": captured_ok,
        }
    finally:
        await services.db.close()


def _token(services: Any, household_id: int) -> str:
    from ledger.domain.scan_codes import CodeKind

    token: str = services.codes.token(CodeKind.HOUSEHOLD, household_id, 1)
    return token


async def _analyze(url: str) -> None:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        await db.execute("ANALYZE")
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--db", help="a bench_* PostgreSQL database, dropped and re-created")
    target.add_argument("--sqlite", type=Path, help="an SQLite file, deleted and re-created")
    parser.add_argument("--households", type=int)
    parser.add_argument("--compounds", type=int)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument(
        "--spending",
        type=int,
        default=0,
        help="add the counter's N households to the seeded --db (kept), read --fixture",
    )
    parser.add_argument("--spending-fixture", type=Path, help="where --spending writes its ids")
    parser.add_argument("--out", default=None, help="name of the result file in var/bench")
    args = parser.parse_args()
    if args.spending:
        if not args.db or not args.spending_fixture:
            parser.error("--spending needs --db and --spending-fixture")
        add_spending(args)
        return
    if not args.households or not args.compounds:
        parser.error("--households and --compounds are required")
    started = time.perf_counter()
    if args.db:
        asyncio.run(recreate_database(args.db))
        url = pg_url(args.db)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.sqlite}{suffix}").unlink(missing_ok=True)
        args.sqlite.parent.mkdir(parents=True, exist_ok=True)
        url = str(args.sqlite)
    configure_in_process(url, redis=False)
    fixture = asyncio.run(seed(args.households, args.compounds))
    if args.db:
        # Fresh statistics, as autovacuum would give a long-lived database; without them the
        # planner takes the 60,000 new rows for an empty table (verify's folds then take 20 s).
        asyncio.run(_analyze(url))
    fixture["database_url"] = url
    args.fixture.parent.mkdir(parents=True, exist_ok=True)
    args.fixture.write_text(json.dumps(fixture))
    log(f"seeded {len(fixture['households']):,} households in {args.compounds} compounds at {url}")
    if args.out:
        write_result(
            args.out,
            {
                "households": len(fixture["households"]),
                "compounds": args.compounds,
                "elapsed_s": round(time.perf_counter() - started, 1),
                "database_url": url,
            },
        )


def add_spending(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    url = pg_url(args.db)
    configure_in_process(url, redis=False)
    counter = asyncio.run(seed_spending(args.spending, json.loads(args.fixture.read_text())))
    asyncio.run(_analyze(url))
    args.spending_fixture.parent.mkdir(parents=True, exist_ok=True)
    args.spending_fixture.write_text(json.dumps(counter))
    log(
        f"counter: {len(counter['households']):,} households with {SPENDING_POINTS} points, "
        f"{len(counter['clerks'])} clerks, reward {counter['reward_id']}; one redemption sends "
        f"{len(counter['statements'])} statements"
    )
    if args.out:
        write_result(
            args.out,
            {
                "households": len(counter["households"]),
                "clerks": len(counter["clerks"]),
                "reward_id": counter["reward_id"],
                "statements": counter["statements"],
                "all_ok": counter["captured_redemption_ok"],
                "elapsed_s": round(time.perf_counter() - started, 1),
                "database_url": url,
            },
        )


if __name__ == "__main__":
    main()
