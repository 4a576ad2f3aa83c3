"""The drill's writer: credits through the project's own services, on GREENLEDGER_DATABASE_URL.

`python -m tests.drill.writer HOUSEHOLDS` reads one command a line on stdin and answers one
JSON line on stdout:

- `grade DAY`: every household gets a good grade for two streams at 08:00 (Hangzhou) on
  November DAY (the first time: a community, a compound, its points, an inspector and the
  households are made first), then the sealer seals what is pending;
- `quit`.

Each answer carries `entries`, the number of ledger entries committed when it was written
(nothing else writes to the database meanwhile, so it is exact).
"""

from __future__ import annotations

import asyncio
import json
import sys

from api.app import point_store_at
from api.settings import Settings
from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from tests.factories import FrozenClock, make_household
from tests.integration.earning_helpers import Site, grade, hangzhou, make_site

STREAMS = (Stream.KITCHEN, Stream.RECYCLABLE)


async def serve(households: int) -> None:
    settings = Settings.from_env()
    point_store_at(settings)
    clock = FrozenClock(hangzhou(1, 8))
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    await services.db.start()
    site: Site | None = None
    cards: list[str] = []
    try:
        for line in sys.stdin:
            command, *args = line.split()
            if command == "quit":
                break
            assert command == "grade", f"unknown command {command!r}"
            clock.moment = hangzhou(int(args[0]), 8)
            if site is None:
                site = await make_site(services)
                cards = [site.world.card_token]
                for _ in range(households - 1):
                    made = await make_household(services, site.world.compound_id)
                    cards.append(made.card_token)
            credits = 0
            for card in cards:
                for stream in STREAMS:
                    outcome = await grade(services, site, stream, Grade.GOOD, card=card)
                    credits += bool(outcome.points_awarded)
            await services.sealer.seal_all()
            report = await services.verifier.verify()
            answer = {"credits": credits, "entries": report.entries, "ok": report.ok}
            print(json.dumps(answer), flush=True)
    finally:
        await services.db.close()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
