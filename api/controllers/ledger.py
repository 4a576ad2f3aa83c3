"""Account reads, adjustments, reversals and verification."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody

from api.deps import PrincipalDep, ServicesDep
from api.params import Cursor, Limit, PathId
from api.schemas import (
    AccountView,
    Adjusted,
    Adjustment,
    EntryPage,
    Reversal,
    Reversed,
    VerifyReply,
)
from api.security import ADMIN_ONLY, ANY_ROLE


class LedgerController(Controller):
    path = "/api/v1"
    tags = ["ledger"]

    @get("/accounts/{account_id:int}", operation_id="GetAccount", guards=ANY_ROLE)
    async def account(
        self, account_id: PathId, principal: PrincipalDep, services: ServicesDep
    ) -> AccountView:
        """Balance and what expires when: the owner's members, an admin, or a clerk."""
        return await services.accounts.account(principal, account_id)

    @get("/accounts/{account_id:int}/entries", operation_id="ListAccountEntries", guards=ANY_ROLE)
    async def entries(
        self,
        account_id: PathId,
        principal: PrincipalDep,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> EntryPage:
        """Entries newest first, with the balance after each; the owner's members or an admin."""
        result = await services.accounts.entries(principal, account_id, cursor, limit)
        return msgspec.convert(result, EntryPage, from_attributes=True)

    @post("/adjustments", operation_id="Adjust", guards=ADMIN_ONLY)
    async def adjust(
        self, data: JSONBody[Adjustment], principal: PrincipalDep, services: ServicesDep
    ) -> Adjusted:
        """Credit (+) from issuance or debit (−) to it by hand, with a reason."""
        return await services.accounts.adjust(
            principal, data.event_id, data.account_id, data.amount_points, data.reason
        )

    @post("/entries/{entry_id:int}/reverse", operation_id="ReverseEntry", guards=ADMIN_ONLY)
    async def reverse(
        self,
        entry_id: PathId,
        data: JSONBody[Reversal],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Reversed:
        """Undo an entry once (409 `already_reversed`, `insufficient_points`)."""
        return await services.accounts.reverse(principal, data.event_id, entry_id, data.reason)

    @get("/ledger/verify", operation_id="VerifyLedger", guards=ADMIN_ONLY)
    async def verify(self, services: ServicesDep) -> VerifyReply:
        """Re-prove every balance from the entries and the hash chain over sealed entries."""
        return msgspec.convert(await services.verifier.verify(), VerifyReply, from_attributes=True)
