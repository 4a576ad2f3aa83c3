"""Registry: communities, compounds, households, points, posts, merchants, volunteers, rewards."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from api.dates import parse_optional_day
from api.deps import PrincipalDep, ServicesDep
from api.schemas import (
    ID_MAX,
    AccountHolderReply,
    CardReply,
    CodeReply,
    CommunityReply,
    CompoundReply,
    EventOnly,
    HouseholdReply,
    NewCommunity,
    NewCompound,
    NewHousehold,
    NewMerchant,
    NewPoint,
    NewPost,
    NewReward,
    NewVolunteer,
    Page,
    RewardReply,
)
from api.security import ADMIN_ONLY

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (default 50).")]
Cursor = Annotated[str | None, QueryParameter(max_length=100, description="From next_cursor.")]
ParentId = Annotated[int | None, QueryParameter(ge=1, le=ID_MAX)]
HouseholdId = Annotated[int, PathParameter(ge=1, le=ID_MAX)]


class RegistryController(Controller):
    path = "/api/v1"
    tags = ["registry"]
    guards = ADMIN_ONLY

    @post("/communities", operation_id="CreateCommunity")
    async def create_community(
        self, data: JSONBody[NewCommunity], principal: PrincipalDep, services: ServicesDep
    ) -> CommunityReply:
        result = await services.registry.create_community(principal, data.event_id, data.name)
        return msgspec.convert(result, CommunityReply)

    @post("/compounds", operation_id="CreateCompound")
    async def create_compound(
        self, data: JSONBody[NewCompound], principal: PrincipalDep, services: ServicesDep
    ) -> CompoundReply:
        result = await services.registry.create_compound(
            principal, data.event_id, data.community_id, data.name, data.kind
        )
        return msgspec.convert(result, CompoundReply)

    @post("/households", operation_id="CreateHousehold")
    async def create_household(
        self, data: JSONBody[NewHousehold], principal: PrincipalDep, services: ServicesDep
    ) -> HouseholdReply:
        """A household (or a shop, an office), its green account and its first card (409
        `duplicate`: known address or name; 400 naming `kind` outside a compound of its kind)."""
        result = await services.registry.create_household(
            principal,
            data.event_id,
            data.compound_id,
            data.building,
            data.unit,
            data.room,
            kind=data.kind,
            name=data.name,
        )
        return msgspec.convert(result, HouseholdReply)

    @post(
        "/households/{household_id:int}/card:reissue",
        operation_id="ReissueCard",
        status_code=HTTP_200_OK,
    )
    async def reissue_card(
        self,
        household_id: HouseholdId,
        data: JSONBody[EventOnly],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> CardReply:
        """A new card for a lost one: the account stays, every older card is refused."""
        result = await services.registry.reissue_card(principal, data.event_id, household_id)
        return msgspec.convert(result, CardReply)

    @post("/points", operation_id="CreateCollectionPoint")
    async def create_point(
        self, data: JSONBody[NewPoint], principal: PrincipalDep, services: ServicesDep
    ) -> CodeReply:
        """A collection point with its opening windows (local time, Asia/Shanghai)."""
        result = await services.registry.create_point(
            principal, data.event_id, data.compound_id, data.name, data.windows
        )
        return msgspec.convert(result, CodeReply)

    @post("/posts", operation_id="CreateDutyPost")
    async def create_post(
        self, data: JSONBody[NewPost], principal: PrincipalDep, services: ServicesDep
    ) -> CodeReply:
        result = await services.registry.create_post(
            principal, data.event_id, data.compound_id, data.name
        )
        return msgspec.convert(result, CodeReply)

    @post("/merchants", operation_id="CreateMerchant")
    async def create_merchant(
        self, data: JSONBody[NewMerchant], principal: PrincipalDep, services: ServicesDep
    ) -> AccountHolderReply:
        result = await services.registry.create_merchant(
            principal, data.event_id, data.community_id, data.name
        )
        return msgspec.convert(result, AccountHolderReply)

    @post("/volunteers", operation_id="CreateVolunteer")
    async def create_volunteer(
        self, data: JSONBody[NewVolunteer], principal: PrincipalDep, services: ServicesDep
    ) -> AccountHolderReply:
        result = await services.registry.create_volunteer(
            principal, data.event_id, data.community_id, data.name
        )
        return msgspec.convert(result, AccountHolderReply)

    @post("/rewards", operation_id="CreateReward")
    async def create_reward(
        self, data: JSONBody[NewReward], principal: PrincipalDep, services: ServicesDep
    ) -> RewardReply:
        result = await services.registry.create_reward(
            principal,
            data.event_id,
            data.community_id,
            data.name,
            data.cost_points,
            data.stock,
            data.monthly_limit_per_household,
            active_from=parse_optional_day(data.active_from, "active_from"),
            active_until=parse_optional_day(data.active_until, "active_until"),
            exchange_weekdays=data.exchange_weekdays,
        )
        return msgspec.convert(result, RewardReply)

    @get("/communities", operation_id="ListCommunities")
    async def communities(
        self, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
    ) -> Page:
        return await _page(services, "communities", cursor, limit, {})

    @get("/compounds", operation_id="ListCompounds")
    async def compounds(
        self,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        community_id: ParentId = None,
    ) -> Page:
        return await _page(services, "compounds", cursor, limit, {"community": community_id})

    @get("/households", operation_id="ListHouseholds")
    async def households(
        self,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        compound_id: ParentId = None,
    ) -> Page:
        return await _page(services, "households", cursor, limit, {"compound": compound_id})

    @get("/points", operation_id="ListCollectionPoints")
    async def points(
        self,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        compound_id: ParentId = None,
    ) -> Page:
        return await _page(services, "points", cursor, limit, {"compound": compound_id})

    @get("/posts", operation_id="ListDutyPosts")
    async def posts(
        self,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        compound_id: ParentId = None,
    ) -> Page:
        return await _page(services, "posts", cursor, limit, {"compound": compound_id})

    @get("/merchants", operation_id="ListMerchants")
    async def merchants(
        self,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        community_id: ParentId = None,
    ) -> Page:
        return await _page(services, "merchants", cursor, limit, {"community": community_id})

    @get("/volunteers", operation_id="ListVolunteers")
    async def volunteers(
        self,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        community_id: ParentId = None,
    ) -> Page:
        return await _page(services, "volunteers", cursor, limit, {"community": community_id})

    @get("/rewards", operation_id="ListRewards")
    async def rewards(
        self,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        community_id: ParentId = None,
    ) -> Page:
        return await _page(services, "rewards", cursor, limit, {"community": community_id})


async def _page(
    services: ServicesDep,
    resource: str,
    cursor: str | None,
    limit: int,
    filters: dict[str, int | None],
) -> Page:
    given = {column: value for column, value in filters.items() if value is not None}
    result = await services.registry.page(resource, cursor, limit, given)
    return Page(items=result["items"], next_cursor=result["next_cursor"])
