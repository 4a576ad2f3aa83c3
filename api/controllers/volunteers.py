"""Volunteers apply, signed out; coordinators of the community approve or decline them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from api.deps import PrincipalDep, ServicesDep
from api.schemas import (
    ID_MAX,
    ApplicationDecided,
    ApplicationReceived,
    EventOnly,
    Page,
    VolunteerApplicationIn,
)
from api.security import requires
from ledger.domain.access import Role
from ledger.services.volunteers import ApplicationRequest

COORDINATORS = [requires(Role.COORDINATOR, Role.ADMIN)]
ApplicationPath = Annotated[
    str,
    PathParameter(max_length=40, description="an application id, then `:approve` or `:decline`"),
]


class VolunteerApplicationController(Controller):
    path = "/api/v1/volunteers/applications"
    tags = ["volunteers"]

    @post("/", operation_id="ApplyVolunteer", opt={"public": True})
    async def apply(
        self, data: JSONBody[VolunteerApplicationIn], services: ServicesDep
    ) -> ApplicationReceived:
        """Anyone, signed out: asks to volunteer in a community with their name, mobile number
        and a 6-digit PIN (hashed at once; they sign in with number and PIN once approved), and
        the party they serve with, if any. 409 `phone_taken` (the number already signs in),
        409 `duplicate` (an application with this number already waits)."""
        party = data.party
        request = ApplicationRequest(
            data.community_id,
            data.name,
            data.phone,
            data.pin,
            party.kind if party else None,
            party.branch if party else None,
        )
        return await services.volunteers.apply(data.event_id, request)

    @get("/", operation_id="ListVolunteerApplications", guards=COORDINATORS)
    async def applications(
        self,
        principal: PrincipalDep,
        services: ServicesDep,
        status: Annotated[
            str, QueryParameter(pattern=r"^(pending|approved|declined)$")
        ] = "pending",
        community_id: Annotated[int | None, QueryParameter(ge=1, le=ID_MAX)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> Page:
        """Applications of the communities the caller coordinates a compound of (every one,
        for an admin), oldest first; mobile numbers masked except for admins. 403
        `out_of_scope` for a `community_id` the caller does not coordinate."""
        result = await services.volunteers.page(principal, status, community_id, cursor, limit)
        return Page(items=msgspec.to_builtins(result.items), next_cursor=result.next_cursor)

    @post(
        "/{application:str}",
        operation_id="DecideVolunteerApplication",
        guards=COORDINATORS,
        status_code=HTTP_200_OK,
    )
    async def decide(
        self,
        application: ApplicationPath,
        data: JSONBody[EventOnly],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> ApplicationDecided:
        """`{id}:approve`: the volunteer record, its account and the applicant's PIN login, in
        one transaction (the reply names `volunteer_id` and `user_id`); 409 `phone_taken` if
        the number was registered since. `{id}:decline`: nothing is made. Once only: 409
        `already_decided`."""
        number, _, action = application.partition(":")
        if action not in ("approve", "decline"):
            raise NotFoundException(f"no such action on an application: {action or '(none)'}")
        if not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= ID_MAX:
            raise NotFoundException(f"no application {number!r}")
        return await services.volunteers.decide(
            principal, data.event_id, int(number), approve=action == "approve"
        )
