"""The outbound webhook: every notice POSTed, signed, to the subdistrict's receiver (its WeChat
account or SMS gateway), at least once, with its id so the receiver can de-duplicate.

Delivery state lives in `notice_delivery` (made with each notice by the projection): a restart
resumes where it stopped, a rebuild of the notices delivers nothing again. Each attempt is
claimed first (a conditional UPDATE of the attempt count, which also hides the delivery for a
lease), so two deliverers (two workers) do not send the same notice at once; a deliverer that
dies mid-attempt leaves it to be sent again when the lease ends: at least once, never lost.
Failures wait `backoff(attempts)`: 5 s, 10 s, 20 s … then hourly, for as long as it takes.
Receiving: docs/decisions/2026-12-06-notices.md (the verification recipe).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from ledger.domain.notices import (
    NOTICE_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff,
    signature,
)
from ledger.ports import Clock
from ledger.services import background
from ledger.services.notices import notice_item
from ledger.store import members
from ledger.store import notices as store
from ledger.store.engine import Database

log = logging.getLogger(__name__)

DELIVERY_BATCH = 50
IDLE_SECONDS = 1.0
TIMEOUT_SECONDS = 10.0
LEASE = timedelta(seconds=60)

# The edge renders a notice's text in each language (api/pages/notice_texts.py); without it the
# payload carries the notice's fields only.
TextsOf = Callable[[dict[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secret: bytes


@dataclass
class Deliverer:
    db: Database
    clock: Clock
    target: WebhookTarget
    texts_of: TextsOf | None = None
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

    async def deliver_due(self) -> int:
        """One pass: try every delivery that is due; returns how many were tried."""
        due = await store.due_deliveries(self.clock.now(), DELIVERY_BATCH)
        tried = 0
        for delivery in due:
            notice = delivery.notice
            async with self.db.write():
                lease_until = self.clock.now() + LEASE
                claimed = await store.claim_delivery(notice.id, delivery.attempts, lease_until)
            if not claimed:
                continue  # another deliverer took this attempt
            tried += 1
            attempts = delivery.attempts + 1
            error = await self._post(await self._payload(notice))  # outside any transaction
            async with self.db.write():
                if error is None:
                    await store.delivered(notice.id, self.clock.now())
                else:
                    retry_at = self.clock.now() + backoff(attempts)
                    await store.failed(notice.id, retry_at, error)
            if error is not None:
                log.warning("notice %s not delivered (attempt %d): %s", notice.id, attempts, error)
        return tried

    async def _payload(self, notice: store.NoticeRow) -> bytes:
        item = notice_item(notice)
        body = item | {"recipient_user_ids": await _recipients(notice)}
        body.pop("read")
        if self.texts_of is not None:
            body["texts"] = self.texts_of(body)
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()

    async def _post(self, body: bytes) -> str | None:
        """None when the receiver took it (any 2xx), else what went wrong."""
        timestamp = int(self.clock.now().timestamp())
        notice_id = str(json.loads(body)["id"])
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(self.target.secret, timestamp, body),
            NOTICE_ID_HEADER: notice_id,
        }
        try:
            response = await self._http().post(self.target.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run(self, stop: asyncio.Event) -> None:
        """Background loop, a sibling of the sealer's and the projectors' (the server's
        lifespan, or `greenledger work`)."""
        try:
            await background.poll(
                stop,
                self.deliver_due,
                log=log,
                name="webhook",
                doing="webhook delivery",
                idle_seconds=IDLE_SECONDS,
            )
        finally:
            await self.close()


async def _recipients(notice: store.NoticeRow) -> list[int]:
    """Who gets it now: the household's members (not the one a `member_joined` is about), or
    the volunteer's logins."""
    if notice.household_id is not None:
        return [
            m.user_id
            for m in await members.members_of(notice.household_id)
            if m.user_id != notice.subject_user_id
        ]
    if notice.volunteer_id is None:
        return []
    return await members.users_of_volunteer(notice.volunteer_id)
