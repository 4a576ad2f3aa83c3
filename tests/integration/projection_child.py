"""A process the crash tests kill (SIGKILL) between commit and projection.

    python -m tests.integration.projection_child '<json>'

The JSON names the Redis URL and prefix, the moment of the frozen clock, the scans to make
(household card tokens, a point token, the inspector's user id) and the mode:

  before  commit the scans and number their facts, say COMMITTED, then wait to be killed
          before projecting anything;
  during  commit and number, then project in batches of 5, saying APPLIED after the first
          community's batch is in Redis, and wait to be killed in the middle;
  loop    scan, seal and project over and over, saying TICK n, until killed wherever it is.

The database is the one in GREENLEDGER_DATABASE_URL (the parent's test database).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from ledger.services.grading import Grading


async def main(spec: dict[str, Any]) -> None:
    from redis.asyncio import Redis

    from ledger.domain.rules import Grade, Stream
    from ledger.services import projection
    from ledger.services.container import Services
    from tests.factories import FrozenClock, event_id

    clock = FrozenClock(datetime.fromisoformat(spec["moment"]))
    from api.settings import Settings

    settings = Settings(
        database_url=spec["database_url"],
        secret_key=spec["secret_key"],
        base_url="http://testserver",
    )
    redis = Redis.from_url(spec["redis_url"])
    services = Services.build(
        settings.keyring(),
        "http://testserver",
        clock=clock,
        redis=redis,
        redis_prefix=spec["prefix"],
    )
    await services.db.start()
    inspector = await services.users.principal(spec["inspector_user_id"])
    projector = services.projector
    assert projector is not None
    grades = list(Grade)
    streams = list(Stream)

    async def scan(n: int) -> None:
        await services.gradings.inspect(
            inspector,
            Grading(
                event_id(f"child-{spec['prefix']}-{n}"),
                spec["cards"][n % len(spec["cards"])],
                spec["point"],
                streams[n % len(streams)],
                grades[n % len(grades)],
                [],
                None,
            ),
        )
        clock.advance(minutes=7)

    if spec["mode"] == "loop":
        n = 0
        while True:
            await scan(n)
            await services.sealer.seal_all()
            await projector.catch_up()
            n += 1
            print(f"TICK {n}", flush=True)

    for n in range(spec["scans"]):
        await scan(n)
    await services.sealer.seal_all()
    if spec["mode"] == "before":
        print("COMMITTED", flush=True)
        await asyncio.sleep(3600)

    projection.FACT_BATCH = 5
    boards = projector.boards
    real_apply = boards.apply

    async def apply_then_wait(*args: Any, **kwargs: Any) -> int:
        result = await real_apply(*args, **kwargs)
        print("APPLIED", flush=True)
        await asyncio.sleep(3600)
        return result

    boards.apply = apply_then_wait  # type: ignore[method-assign]
    await projector.catch_up()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
