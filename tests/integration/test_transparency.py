"""The transparency log on a real database: closed days are published once, signed, as the
tree of their seals; a head cannot be changed, deleted or re-published; receipts check;
`verify` catches a head that no longer matches its entries. Both engines."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import asdict
from datetime import date, datetime, timedelta

import asyncpg
import pytest

from ledger.domain import merkle
from ledger.domain.access import SYSTEM
from ledger.domain.errors import DayNotPublished, NotYetSealed
from ledger.domain.localtime import day_start, local_day
from ledger.domain.receipts import DayHead, ReceiptRefused, check_receipt, head_payload
from ledger.services.container import Services
from ledger.store import chain_heads
from ledger.store.engine import is_sqlite
from ledger.store.tables import ChainHead
from tests.factories import FrozenClock, credit, make_world

REFUSED = (asyncpg.exceptions.RestrictViolationError, sqlite3.IntegrityError)
DUPLICATE = (asyncpg.exceptions.UniqueViolationError, sqlite3.IntegrityError)
DAY_ONE = date(2026, 11, 25)  # FrozenClock starts at 10:00 local that day


async def _two_days(services: Services, clock: FrozenClock) -> tuple[list[int], list[int]]:
    """Three credits sealed on day one, two sealed on day two (one of them made on day one
    but sealed after midnight: it belongs to day two)."""
    world = await make_world(services)
    first = [(await credit(services, world.account_id, n))["entry_id"] for n in (5, 6, 7)]
    await services.sealer.seal_all()
    late = (await credit(services, world.account_id, 8))["entry_id"]
    clock.advance(hours=14, minutes=30)  # 00:30 local, day two
    await services.sealer.seal_all()
    second = [late, (await credit(services, world.account_id, 9))["entry_id"]]
    await services.sealer.seal_all()
    return first, second


async def test_a_closed_day_is_published_once_signed(
    services: Services, clock: FrozenClock
) -> None:
    first, _ = await _two_days(services, clock)
    assert await services.transparency.publish_closed_days(clock.now() - timedelta(hours=1)) == []
    published = await services.transparency.publish_closed_days(clock.now())
    assert [h.day for h in published] == [DAY_ONE]
    head = published[0]
    async with services.db.read():
        seals = [await chain_heads.seal_of_entry(i) for i in first]
    hashes = [bytes.fromhex(s.hash) for s in seals if s is not None]
    assert head.tree_size == 3
    assert head.root == merkle.root(hashes).hex()
    payload = head_payload(head.day, head.tree_size, head.root)
    assert services.transparency.keys.verify(head.key_id, payload, head.signature)
    assert await services.transparency.publish_closed_days(clock.now()) == []
    clock.advance(days=1)
    again = await services.transparency.publish_closed_days(clock.now())
    assert [(h.day, h.tree_size) for h in again] == [(DAY_ONE + timedelta(1), 2)]
    heads = await services.transparency.heads(DAY_ONE, DAY_ONE + timedelta(5))
    assert [h.day for h in heads] == [DAY_ONE, DAY_ONE + timedelta(1)]


async def test_receipts_check_and_tampered_ones_do_not(
    services: Services, clock: FrozenClock
) -> None:
    first, second = await _two_days(services, clock)
    with pytest.raises(DayNotPublished):
        await services.transparency.receipt(SYSTEM, first[0])
    await services.transparency.publish_closed_days(clock.now() + timedelta(days=1))
    heads = await services.transparency.heads(DAY_ONE, DAY_ONE + timedelta(1))
    for entry_id in first + second:
        receipt = asdict(await services.transparency.receipt(SYSTEM, entry_id))
        assert check_receipt(receipt, heads).day.isoformat() == receipt["day"]
        forged = {**receipt, "entry": {**receipt["entry"], "amount_points": 500}}
        with pytest.raises(ReceiptRefused, match="does not recompute"):
            check_receipt(forged, heads)
        if receipt["audit_path"]:
            path = [
                ("0" if receipt["audit_path"][0][0] != "0" else "1") + receipt["audit_path"][0][1:]
            ]
            bad = {**receipt, "audit_path": path + receipt["audit_path"][1:]}
            with pytest.raises(ReceiptRefused, match="audit path"):
                check_receipt(bad, heads)
        other = {**receipt, "root": "ab" * 32}
        with pytest.raises(ReceiptRefused):
            check_receipt(other, heads)
    assert receipt["day"] == "2026-11-26"
    world = await make_world(services, community="另一社区", compound="别处")
    unsealed = (await credit(services, world.account_id, 3))["entry_id"]
    with pytest.raises(NotYetSealed):
        await services.transparency.receipt(SYSTEM, unsealed)


async def test_a_published_head_cannot_change_or_be_published_again(
    services: Services, clock: FrozenClock
) -> None:
    await _two_days(services, clock)
    await services.transparency.publish_closed_days(clock.now())
    async with services.db.read():
        before = await chain_heads.all_heads()
    with pytest.raises(REFUSED, match="append-only"):
        async with services.db.write():
            await ChainHead.raw("UPDATE chain_head SET root = {}", "cd" * 32)
    with pytest.raises(REFUSED, match="append-only"):
        async with services.db.write():
            await ChainHead.raw("DELETE FROM chain_head")
    with pytest.raises(DUPLICATE):
        async with services.db.write():
            await chain_heads.insert_heads(
                [services.transparency.head(DAY_ONE, [b"\x01" * 32])], clock.now()
            )
    async with services.db.read():
        assert await chain_heads.all_heads() == before
    assert (await services.verifier.verify()).ok


async def test_verify_names_a_head_that_no_longer_matches(
    services: Services, clock: FrozenClock
) -> None:
    await _two_days(services, clock)
    await services.transparency.publish_closed_days(clock.now())
    report = await services.verifier.verify()
    assert report.ok
    check = next(c for c in report.checks if c.name == "day_heads")
    assert check.detail == "1 published day heads match their entries"
    async with services.db.write():
        if is_sqlite():
            await ChainHead.raw("DROP TRIGGER chain_head_no_update")
        else:
            await ChainHead.raw("ALTER TABLE chain_head DISABLE TRIGGER chain_head_append_only")
        await ChainHead.raw("UPDATE chain_head SET root = {}", "cd" * 32)
    report = await services.verifier.verify()
    assert not report.ok
    check = next(c for c in report.checks if c.name == "day_heads")
    assert "2026-11-25" in check.detail
    assert "root" in check.detail
    if not is_sqlite():
        async with services.db.write():
            await ChainHead.raw("ALTER TABLE chain_head ENABLE TRIGGER chain_head_append_only")


async def test_the_sealer_loop_publishes_once_midnight_has_passed(
    services: Services, clock: FrozenClock
) -> None:
    """The server's sealer loop seals, then publishes the day just closed (the loop stops
    when the publisher has run once)."""
    world = await make_world(services)
    await credit(services, world.account_id, 5)
    await services.sealer.seal_all()
    await credit(services, world.account_id, 6)  # sealed by the loop, on day two
    clock.advance(hours=15)  # 01:00 local, day two
    stop = asyncio.Event()
    published: list[DayHead] = []
    publish = services.transparency.publish_closed_days

    async def publish_then_stop(now: datetime) -> list[DayHead]:
        published.extend(await publish(now))
        stop.set()
        return published

    services.transparency.publish_closed_days = publish_then_stop  # type: ignore[method-assign]
    await asyncio.wait_for(services.sealer.run(stop), timeout=30)
    assert [(h.day, h.tree_size) for h in published] == [(DAY_ONE, 1)]


async def test_a_seal_never_lands_on_a_published_day(
    services: Services, clock: FrozenClock
) -> None:
    """review19: two server processes, the publisher's clock a little ahead of the sealer's.
    The publisher closes day one at its 00:00:01; the other process then seals an entry at its
    23:59:59 of day one. Stamped on day one, the entry would be outside day one's head for ever
    (its receipt unprovable, `verify` failing); it is sealed on day two instead."""
    world = await make_world(services)
    await credit(services, world.account_id, 5)
    await services.sealer.seal_all()
    midnight = day_start(DAY_ONE + timedelta(1))  # local midnight ending day one
    clock.moment = midnight - timedelta(seconds=1)  # the sealing process's clock
    published = await services.transparency.publish_closed_days(midnight + timedelta(seconds=1))
    assert [(h.day, h.tree_size) for h in published] == [(DAY_ONE, 1)]
    late = (await credit(services, world.account_id, 6))["entry_id"]

    await services.sealer.seal_all()

    async with services.db.read():
        seal = await chain_heads.seal_of_entry(late)
    assert seal is not None
    assert local_day(seal.sealed_at) == DAY_ONE + timedelta(1)
    await services.transparency.publish_closed_days(midnight + timedelta(days=1, seconds=1))
    receipt = asdict(await services.transparency.receipt(SYSTEM, late))
    heads = await services.transparency.heads(DAY_ONE, DAY_ONE + timedelta(1))
    assert check_receipt(receipt, heads).day == DAY_ONE + timedelta(1)
    report = await services.verifier.verify()
    assert report.ok, report
