"""A scan captured before midnight and uploaded after counts on its own day everywhere: the
grade's row, the boards' facts, the entry (which keeps both times) and the sealed chain."""

from __future__ import annotations

from datetime import date

from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.store.tables import BoardFact, Dropoff, Entry, Inspection
from tests.factories import FrozenClock, event_id
from tests.integration.earning_helpers import hangzhou, make_site

CAPTURED_DAY, UPLOAD_DAY = date(2026, 11, 25), date(2026, 11, 26)


async def test_a_late_upload_counts_on_the_capture_day_and_seals_both_times(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    clock.moment = hangzhou(26, 0, 20)
    reply = await services.gradings.inspect(
        site.inspector,
        Grading(
            event_id("late"),
            site.world.card_token,
            site.point.token,
            Stream.KITCHEN,
            Grade.GOOD,
            [],
            None,
            hangzhou(25, 23, 58),
        ),
    )
    inspection = await Inspection.select().where(Inspection.id == reply.inspection_id).first()
    assert inspection is not None
    assert inspection["local_day"] == CAPTURED_DAY
    assert inspection["created_at"] == hangzhou(26, 0, 20)
    entry = await Entry.select().where(Entry.id == reply.entry_id).first()
    assert entry is not None
    assert (entry["captured_at"], entry["created_at"]) == (
        hangzhou(25, 23, 58),
        hangzhou(26, 0, 20),
    )
    facts = await BoardFact.select(BoardFact.kind, BoardFact.local_day, BoardFact.created_at)
    assert {(f["kind"], f["local_day"]) for f in facts} == {
        ("grade", CAPTURED_DAY),
        ("participation", CAPTURED_DAY),
        ("earned", CAPTURED_DAY),
    }
    assert {f["created_at"] for f in facts} == {hangzhou(26, 0, 20)}
    await services.sealer.seal_pending()
    report = await services.verifier.verify()
    assert report.ok, report


async def test_a_drop_off_counts_in_the_window_it_was_captured_in(
    services: Services, clock: FrozenClock
) -> None:
    site = await make_site(services)
    clock.moment = hangzhou(26, 9, 5)  # the 07:00-09:00 window has closed
    reply = await services.scans.dropoff(
        site.resident, event_id("drop"), site.point.token, hangzhou(26, 8, 58)
    )
    row = await Dropoff.select().where(Dropoff.id == reply.dropoff_id).first()
    assert row is not None
    assert (row["local_day"], row["window_start_minute"]) == (UPLOAD_DAY, 7 * 60)
