"""The transparency log in public: the signing keys, the published day heads, receipts.

Keys and heads need no sign-in (anyone checks a receipt against them); a receipt is for
whoever may read the entry's account history (docs/decisions/2026-12-06-transparency-log.md).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import PathParameter, QueryParameter

from api.dates import parse_optional_day
from api.deps import PrincipalDep, ServicesDep
from api.schemas import ID_MAX, ChainHeadItem, ChainHeadsReply, ChainKeysReply, ReceiptReply
from api.security import ANY_ROLE
from ledger.domain.localtime import local_day
from ledger.domain.receipts import HEAD_FORMAT, DayHead

DEFAULT_DAYS = 30
From = Annotated[
    str | None, QueryParameter(name="from", max_length=10, description="first day, 2026-12-05")
]
To = Annotated[str | None, QueryParameter(max_length=10, description="last day (default today)")]


class ChainController(Controller):
    path = "/api/v1/chain"
    tags = ["transparency"]
    opt = {"public": True}

    @get("/key", operation_id="ChainKeys")
    async def keys(self, services: ServicesDep) -> ChainKeysReply:
        """The Ed25519 public keys of the day heads, by key id; the signing one first."""
        keys = [asdict(key) for key in services.transparency.public_keys()]
        return msgspec.convert(
            {"keys": keys, "head_format": HEAD_FORMAT + "\\n{day}\\n{tree_size}\\n{root}"},
            ChainKeysReply,
        )

    @get("/heads", operation_id="ChainHeads")
    async def heads(
        self,
        services: ServicesDep,
        from_: From = None,
        to: To = None,
    ) -> ChainHeadsReply:
        """Published day heads from `from` to `to` (inclusive; default the last 30 days up
        to today; a range of at most 366 days, else 400)."""
        last = parse_optional_day(to, "to") or local_day(services.clock.now())
        first = parse_optional_day(from_, "from") or last - timedelta(DEFAULT_DAYS - 1)
        heads = await services.transparency.heads(first, last)
        return ChainHeadsReply([head_item(head) for head in heads])


class ReceiptController(Controller):
    path = "/api/v1/entries"
    tags = ["transparency"]

    @get("/{entry_id:int}/receipt", operation_id="EntryReceipt", guards=ANY_ROLE)
    async def receipt(
        self,
        entry_id: Annotated[int, PathParameter(ge=1, le=ID_MAX)],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> ReceiptReply:
        """The entry's proof of inclusion in its day's published head: its members or an
        admin (409 `not_yet_sealed`, `day_not_published`)."""
        receipt = await services.transparency.receipt(principal, entry_id)
        return msgspec.convert(asdict(receipt), ReceiptReply)


def head_item(head: DayHead) -> ChainHeadItem:
    return ChainHeadItem(
        day=head.day.isoformat(),
        tree_size=head.tree_size,
        root=head.root,
        key_id=head.key_id,
        signature=head.signature,
    )
