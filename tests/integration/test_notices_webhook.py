"""The outbound webhook against a real local receiver that fails the first attempts: each notice
arrives, signed, with its id; retried with back-off; delivered state survives a restart and a
rebuild (both engines)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from api.pages.notice_texts import texts_in_every_language
from ledger.domain.access import SYSTEM
from ledger.domain.notices import (
    NOTICE_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff,
    signature_valid,
)
from ledger.domain.rules import Grade, Stream
from ledger.services.container import Services
from ledger.services.webhook import LEASE, Deliverer, WebhookTarget
from ledger.store import notices as notice_store
from tests.factories import FrozenClock, event_id
from tests.integration.earning_helpers import grade, make_site

SECRET = b"webhook-secret-for-the-tests-0123456789"


@dataclass
class Receiver:
    """A receiver on a loopback port: refuses each notice's first `failures` deliveries (503),
    then takes it (200); records every request."""

    failures: int
    clock: FrozenClock = field(default_factory=FrozenClock)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            notice_id = headers.get(NOTICE_ID_HEADER.lower(), "")
            seen = sum(1 for r in self.requests if r["notice_id"] == notice_id)
            status = 503 if seen < self.failures else 200
            self.requests.append(
                {
                    "notice_id": notice_id,
                    "headers": headers,
                    "body": body,
                    "status": status,
                    "received_at": self.clock.now(),
                }
            )
            return status

    def taken(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == 200]


@pytest.fixture
def receiver(clock: FrozenClock) -> Iterator[tuple[Receiver, str]]:
    state = Receiver(failures=2, clock=clock)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            status = state.handle(headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/greenledger"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def deliverer(services: Services, clock: FrozenClock, url: str) -> Deliverer:
    return Deliverer(services.db, clock, WebhookTarget(url, SECRET), texts_in_every_language)


async def deliver_until_quiet(deliverer: Deliverer, clock: FrozenClock, passes: int = 8) -> None:
    """Pass after pass, moving the clock past the longest back-off in between."""
    for attempt in range(1, passes + 1):
        await deliverer.deliver_due()
        clock.advance(seconds=backoff(attempt).total_seconds())


async def two_notices(services: Services) -> None:
    site = await make_site(services)
    poor = await grade(services, site, Stream.KITCHEN, Grade.POOR)
    opened = await services.appeals.open(site.resident, event_id(), poor.inspection_id, "错判")
    await services.appeals.decide(site.coordinator, event_id(), opened.appeal_id, True, Grade.GOOD)
    await services.registry.reissue_card(SYSTEM, event_id(), site.world.household_id)
    await services.sealer.seal_all()
    await services.notice_projector.catch_up()


async def test_each_notice_arrives_signed_once_taken_after_failed_attempts(
    services: Services, clock: FrozenClock, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    await two_notices(services)
    sender = deliverer(services, clock, url)
    try:
        await deliver_until_quiet(sender, clock)
        await sender.deliver_due()  # nothing left: no request
    finally:
        await sender.close()

    taken = state.taken()
    assert sorted(r["notice_id"] for r in taken) == ["1", "2"]  # each taken exactly once
    assert len(state.requests) == 6  # two refused attempts each, then the one taken
    for request in state.requests:
        headers, body = request["headers"], request["body"]
        assert signature_valid(
            SECRET,
            headers[TIMESTAMP_HEADER.lower()],
            body,
            headers[SIGNATURE_HEADER.lower()],
            request["received_at"],
        )
        assert not signature_valid(
            b"another-secret",
            headers[TIMESTAMP_HEADER.lower()],
            body,
            headers[SIGNATURE_HEADER.lower()],
            request["received_at"],
        )
        assert str(json.loads(body)["id"]) == request["notice_id"]
        stale = request["received_at"] + timedelta(minutes=10)  # a replay, later: refused
        assert not signature_valid(
            SECRET,
            headers[TIMESTAMP_HEADER.lower()],
            body,
            headers[SIGNATURE_HEADER.lower()],
            stale,
        )
    by_id = {r["notice_id"]: json.loads(r["body"]) for r in taken}  # the receiver de-duplicates
    decision = by_id["1"]
    assert decision["kind"] == "appeal_decided"
    assert decision["outcome"] == "upheld"
    assert decision["recipient_user_ids"]
    assert "upheld" in decision["texts"]["en"]
    assert decision["texts"]["zh_CN"]
    assert by_id["2"]["kind"] == "card_reissued"
    # The same decision in the inbox, once, under the id the receiver got.
    resident = await services.users.principal(decision["recipient_user_ids"][0])
    inbox = (await services.notices.inbox(resident, None, 50)).items
    assert [n["id"] for n in inbox if n["kind"] == "appeal_decided"] == [decision["id"]]
    state_1 = await notice_store.delivery_state(1)
    assert state_1 is not None
    assert state_1["attempts"] == 3
    assert state_1["delivered_at"] is not None


async def test_a_rebuild_or_a_restart_delivers_nothing_twice(
    services: Services, clock: FrozenClock, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    state.failures = 0
    await two_notices(services)
    first = deliverer(services, clock, url)
    try:
        await first.deliver_due()
    finally:
        await first.close()
    assert len(state.requests) == 2

    await services.notice_projector.rebuild()
    restarted = deliverer(services, clock, url)
    try:
        clock.advance(hours=2)
        await restarted.deliver_due()
    finally:
        await restarted.close()
    assert len(state.requests) == 2


async def test_a_delivery_whose_sender_died_mid_attempt_is_sent_after_its_lease(
    services: Services, clock: FrozenClock, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    state.failures = 0
    await two_notices(services)
    # A deliverer claims notice 1's attempt and dies before sending it.
    async with services.db.write():
        assert await notice_store.claim_delivery(1, 0, clock.now() + LEASE)
    sender = deliverer(services, clock, url)
    try:
        await sender.deliver_due()
        assert [r["notice_id"] for r in state.requests] == ["2"]  # 1 is leased
        clock.advance(seconds=LEASE.total_seconds() + 1)
        await sender.deliver_due()
    finally:
        await sender.close()
    assert [r["notice_id"] for r in state.requests] == ["2", "1"]


async def test_an_unreachable_receiver_is_retried_with_growing_waits(
    services: Services, clock: FrozenClock
) -> None:
    await two_notices(services)
    sender = deliverer(services, clock, "http://127.0.0.1:9/nobody-listens")
    try:
        assert await sender.deliver_due() == 2
        assert await sender.deliver_due() == 0  # waiting
        state = await notice_store.delivery_state(1)
        assert state is not None
        assert state["attempts"] == 1
        assert state["delivered_at"] is None
        assert state["last_error"]
        clock.advance(seconds=backoff(1).total_seconds())
        assert await sender.deliver_due() == 2
    finally:
        await sender.close()
    assert backoff(1) < backoff(2) < backoff(3)
    assert backoff(50) == timedelta(hours=1)
