"""A fresh bench database: migrated, then seeded through the ledger's own store functions.

    python -m bench.seed --db bench_seed --households 60000 --compounds 120
    python -m bench.seed --sqlite var/bench/embedded.sqlite --households 4000 --compounds 8

One community (16 issuance stripes), compounds of equal size, one collection point per
compound, and a rules version whose daily cap never binds, so that every (household, stream)
pair scores exactly once a day: the phases hand out disjoint pairs and every credit earns 10
points. An inspector and a clerk cover every compound. The fixture (ids and signed QR tokens)
is written as JSON for the other phases.
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
    configure_in_process,
    log,
    pg_url,
    recreate_database,
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
                INSPECTOR, password_hash, Role.INSPECTOR, None, None, scope
            )
            clerk = await services.users.add(CLERK, password_hash, Role.CLERK, None, None, scope)
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
            "inspector": {"id": inspector["id"], "username": INSPECTOR},
            "clerk": {"id": clerk["id"], "username": CLERK},
        }
    finally:
        await services.db.close()


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
    parser.add_argument("--households", type=int, required=True)
    parser.add_argument("--compounds", type=int, required=True)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--out", default=None, help="name of the result file in var/bench")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
