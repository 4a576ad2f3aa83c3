"""Joining a household by its card, its members, and its join code (issue 15)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.deps import PrincipalDep, ServicesDep
from api.params import PathId
from api.schemas import (
    EventOnly,
    JoinCodeReset,
    JoinReply,
    JoinRequest,
    MemberList,
)
from api.security import ANY_ROLE, client_address, issue_token
from ledger.domain.idempotency import EVENT_ID_PATTERN

OptionalEventId = Annotated[
    str | None,
    QueryParameter(
        pattern=EVENT_ID_PATTERN,
        max_length=64,
        description="Optional id of this removal: a retry with it replays the first reply.",
    ),
]


class MembersController(Controller):
    path = "/api/v1/households"
    tags = ["members"]

    @post(
        "/join",
        operation_id="JoinHousehold",
        status_code=HTTP_201_CREATED,
        opt={"public": True},
    )
    async def join(
        self, data: JSONBody[JoinRequest], services: ServicesDep, request: Request[Any, Any, Any]
    ) -> JoinReply:
        """Join the household of a scanned card with its 6-digit join code, a mobile number and
        a PIN; signed in at once. 403 `join_refused` (wrong code), 409 `phone_taken`,
        `household_full` (6 members, helpers counted), 429 after 10 wrong codes a day for the
        card. The same number and PIN again returns the same account; the same number with a
        new PIN sets that PIN (a fresh join, shown in the members list)."""
        joined = await services.members.join(
            data.card_token,
            data.join_code,
            data.phone,
            data.pin,
            data.display_name,
            data.as_helper,
            client_address(request),
        )
        return JoinReply(
            user_id=joined.user_id,
            household_id=joined.household_id,
            access_token=issue_token(request, joined.signed_in),
        )

    @get("/{household_id:int}/members", operation_id="ListMembers", guards=ANY_ROLE)
    async def members(
        self, household_id: PathId, principal: PrincipalDep, services: ServicesDep
    ) -> MemberList:
        """Admins, clerks of its compound and its members; mobile numbers masked
        (138****5678) except to admins and each person's own."""
        result = await services.members.members(principal, household_id)
        return msgspec.convert(result, MemberList, from_attributes=True)

    @delete(
        "/{household_id:int}/members/{user_id:int}",
        operation_id="RemoveMember",
        guards=ANY_ROLE,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def remove(
        self,
        household_id: PathId,
        user_id: PathId,
        principal: PrincipalDep,
        services: ServicesDep,
        event_id: OptionalEventId = None,
    ) -> None:
        """The member leaves the household and their tokens stop working within seconds.
        Residents of the household, admins and clerks of its compound remove anyone; a helper
        only themselves. 404 if not a member."""
        await services.members.remove(
            principal, event_id or services.members.new_event_id(), household_id, user_id
        )

    @post(
        "/{household_id:int}/join-code:reset",
        operation_id="ResetJoinCode",
        guards=ANY_ROLE,
        status_code=HTTP_200_OK,
    )
    async def reset_join_code(
        self,
        household_id: PathId,
        data: JSONBody[EventOnly],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> JoinCodeReset:
        """A new join code (admins, clerks of its compound); the old one stops working."""
        return await services.members.reset_join_code(principal, data.event_id, household_id)
