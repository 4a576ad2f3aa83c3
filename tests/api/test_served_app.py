"""The app `greenledger serve` runs: `create_app`'s, whose heap as it stands once started is
left out of the garbage collector's passes, and whose collector passes less often (api/app.py,
served_app)."""

from __future__ import annotations

import gc

from litestar.testing import AsyncTestClient

from api.app import GC_YOUNG_THRESHOLD, create_app, served_app
from api.settings import Settings


async def test_the_served_app_freezes_its_started_heap(fresh_db: None, settings: Settings) -> None:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        async with AsyncTestClient(app=served_app(settings)) as client:
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *thresholds[1:])
            assert (await client.get("/health")).status_code == 200
    finally:
        gc.unfreeze()  # a test process makes app after app: none of them may stay frozen
        gc.set_threshold(*thresholds)


async def test_an_app_made_by_create_app_freezes_nothing(
    fresh_db: None, settings: Settings
) -> None:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    async with AsyncTestClient(app=create_app(settings)):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == thresholds
