"""Registry: communities, compounds, households, points, posts, merchants, volunteers, rewards."""

from __future__ import annotations

from dataclasses import dataclass, fields

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody, SkipValidation
from litestar.status_codes import HTTP_200_OK

from api.dates import parse_optional_day
from api.deps import PrincipalDep, ServicesDep
from api.params import Cursor, Limit, OptionalId, PathId
from api.schemas import (
    AccountHolderCreated,
    CardReply,
    CodeReply,
    CommunityCreated,
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
    RewardView,
)
from api.security import ADMIN_ONLY
from ledger.services.registry import HouseholdRequest


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A list route's query, a page (`limit`, `cursor`) of everything it lists, with the
    services that answer it (so that the route resolves one dependency at a time: no task
    group on the request path, tests/unit/test_request_path.py)."""

    services: ServicesDep
    limit: Limit = 50
    cursor: Cursor = None

    def parents(self) -> dict[str, int | None]:
        """The parent the list is narrowed to, by name: `{"community": 3}` for `community_id=3`."""
        return {
            field.name.removesuffix("_id"): getattr(self, field.name)
            for field in fields(self)
            if field.name.endswith("_id")
        }


@dataclass(frozen=True, slots=True)
class InCommunity(ListQuery):
    community_id: OptionalId = None


@dataclass(frozen=True, slots=True)
class InCompound(ListQuery):
    compound_id: OptionalId = None


def _listing(resource: str, operation_id: str, query: type[ListQuery]) -> HTTPRouteHandler:
    """RegistryController's `GET /<resource>`: a page of them. Its query parameters are the
    fields of `query`, which Litestar validates, documents and builds as a dependency (not
    validated again: to msgspec an `InCommunity` is not a `ListQuery`)."""

    async def listing(self: Controller, asked: SkipValidation[NamedDependency[ListQuery]]) -> Page:
        return await _page(asked.services, resource, asked.cursor, asked.limit, asked.parents())

    listing.__name__ = resource  # the handler's name, and its OpenAPI summary ("Households")
    provide = Provide(query, sync_to_thread=False)
    return get(f"/{resource}", operation_id=operation_id, dependencies={"asked": provide})(listing)


class RegistryController(Controller):
    path = "/api/v1"
    tags = ["registry"]
    guards = ADMIN_ONLY

    @post("/communities", operation_id="CreateCommunity")
    async def create_community(
        self, data: JSONBody[NewCommunity], principal: PrincipalDep, services: ServicesDep
    ) -> CommunityCreated:
        return await services.registry.create_community(principal, data.event_id, data.name)

    @post("/compounds", operation_id="CreateCompound")
    async def create_compound(
        self, data: JSONBody[NewCompound], principal: PrincipalDep, services: ServicesDep
    ) -> CompoundReply:
        result = await services.registry.create_compound(
            principal, data.event_id, data.community_id, data.name, data.kind
        )
        return msgspec.convert(result, CompoundReply, from_attributes=True)

    @post("/households", operation_id="CreateHousehold")
    async def create_household(
        self, data: JSONBody[NewHousehold], principal: PrincipalDep, services: ServicesDep
    ) -> HouseholdReply:
        """A household (or a shop, an office), its green account and its first card (409
        `duplicate`: known address or name; 400 naming `kind` outside a compound of its kind)."""
        request = HouseholdRequest(
            data.compound_id, data.building, data.unit, data.room, data.kind, data.name
        )
        result = await services.registry.create_household(principal, data.event_id, request)
        return msgspec.convert(result, HouseholdReply, from_attributes=True)

    @post(
        "/households/{household_id:int}/card:reissue",
        operation_id="ReissueCard",
        status_code=HTTP_200_OK,
    )
    async def reissue_card(
        self,
        household_id: PathId,
        data: JSONBody[EventOnly],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> CardReply:
        """A new card for a lost one: the account stays, every older card is refused."""
        result = await services.registry.reissue_card(principal, data.event_id, household_id)
        return msgspec.convert(result, CardReply, from_attributes=True)

    @post("/points", operation_id="CreateCollectionPoint")
    async def create_point(
        self, data: JSONBody[NewPoint], principal: PrincipalDep, services: ServicesDep
    ) -> CodeReply:
        """A collection point with its opening windows (local time, Asia/Shanghai)."""
        result = await services.registry.create_point(
            principal, data.event_id, data.compound_id, data.name, data.windows
        )
        return msgspec.convert(result, CodeReply, from_attributes=True)

    @post("/posts", operation_id="CreateDutyPost")
    async def create_post(
        self, data: JSONBody[NewPost], principal: PrincipalDep, services: ServicesDep
    ) -> CodeReply:
        result = await services.registry.create_post(
            principal, data.event_id, data.compound_id, data.name
        )
        return msgspec.convert(result, CodeReply, from_attributes=True)

    @post("/merchants", operation_id="CreateMerchant")
    async def create_merchant(
        self, data: JSONBody[NewMerchant], principal: PrincipalDep, services: ServicesDep
    ) -> AccountHolderCreated:
        return await services.registry.create_merchant(
            principal, data.event_id, data.community_id, data.name
        )

    @post("/volunteers", operation_id="CreateVolunteer")
    async def create_volunteer(
        self, data: JSONBody[NewVolunteer], principal: PrincipalDep, services: ServicesDep
    ) -> AccountHolderCreated:
        return await services.registry.create_volunteer(
            principal, data.event_id, data.community_id, data.name
        )

    @post("/rewards", operation_id="CreateReward")
    async def create_reward(
        self, data: JSONBody[NewReward], principal: PrincipalDep, services: ServicesDep
    ) -> RewardView:
        return await services.registry.create_reward(
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

    communities = _listing("communities", "ListCommunities", ListQuery)
    compounds = _listing("compounds", "ListCompounds", InCommunity)
    households = _listing("households", "ListHouseholds", InCompound)
    points = _listing("points", "ListCollectionPoints", InCompound)
    posts = _listing("posts", "ListDutyPosts", InCompound)
    merchants = _listing("merchants", "ListMerchants", InCommunity)
    volunteers = _listing("volunteers", "ListVolunteers", InCommunity)
    rewards = _listing("rewards", "ListRewards", InCommunity)


async def _page(
    services: ServicesDep,
    resource: str,
    cursor: str | None,
    limit: int,
    filters: dict[str, int | None],
) -> Page:
    given = {column: value for column, value in filters.items() if value is not None}
    result = await services.registry.page(resource, cursor, limit, given)
    return Page(items=result.items, next_cursor=result.next_cursor)
