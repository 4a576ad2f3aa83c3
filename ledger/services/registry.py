"""Creating and listing what the ledger is about: communities down to households."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.domain.access import Principal
from ledger.domain.accounts import AccountKind
from ledger.domain.errors import Duplicate, InvalidInput, NotFound
from ledger.domain.phones import draw_join_code
from ledger.domain.registry import (
    CompoundKind,
    HouseholdKind,
    check_kind,
    check_name,
    check_unit,
    check_unit_fits,
    parse_windows,
)
from ledger.domain.rules import DEFAULT_RULES
from ledger.domain.scan_codes import CodeKind
from ledger.ports import Clock
from ledger.services.accounts import PAGE_LIMIT_MAX, decode_cursor, encode_cursor
from ledger.services.catalog import Catalog, RewardFields, RewardView
from ledger.services.codes import Codes
from ledger.services.rules import add_version
from ledger.services.runner import Runner
from ledger.store import ledger as accounts_store
from ledger.store import members as members_store
from ledger.store import registry as store
from ledger.store import short_codes

CARD_KINDS = {"households": CodeKind.HOUSEHOLD, "points": CodeKind.POINT, "posts": CodeKind.POST}


@dataclass(frozen=True, slots=True)
class CommunityCreated:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class CompoundCreated:
    id: int
    community_id: int
    name: str
    kind: CompoundKind


@dataclass(frozen=True, slots=True)
class HouseholdRequest:
    """A household to register: an address (building, unit, room) for a household, a name
    for a shop or an office (`kind`); the domain checks which is given (check_unit)."""

    compound_id: int
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    kind: HouseholdKind | str = HouseholdKind.HOUSEHOLD
    name: str | None = None


@dataclass(frozen=True, slots=True)
class HouseholdCreated:
    """A household (or shop, office), its account, its first card and its join code."""

    id: int
    account_id: int
    card_token: str
    short_code: str
    join_code: str


@dataclass(frozen=True, slots=True)
class CardReissued:
    """A household's new card: its token, its typed short code and a new join code."""

    card_token: str
    short_code: str
    join_code: str


@dataclass(frozen=True, slots=True)
class PointCreated:
    """A collection point and its first card."""

    id: int
    token: str
    short_code: str


@dataclass(frozen=True, slots=True)
class PostCreated:
    """A duty post and its first card."""

    id: int
    token: str
    short_code: str


@dataclass(frozen=True, slots=True)
class AccountHolderCreated:
    """A merchant or a volunteer, with its own account."""

    id: int
    community_id: int
    name: str
    account_id: int


@dataclass(frozen=True, slots=True)
class RegistryPage:
    """One page of a registry list. Its items stay the public views (plain dicts): each
    table lists its own columns (a point its windows, a card holder its token and short code),
    and they go out as JSON as they are."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Registry:
    clock: Clock
    runner: Runner
    codes: Codes

    async def create_community(
        self, actor: Principal, event_id: str, name: str
    ) -> CommunityCreated:
        name = check_name(name)

        async def action() -> CommunityCreated:
            if await store.exists(store.Community, name=name):
                raise Duplicate(f"a community named {name} exists")
            now = self.clock.now()
            community_id = await store.insert(store.Community, name=name, created_at=now)
            await accounts_store.open_community_accounts(community_id, now)
            await add_version(community_id, DEFAULT_RULES, now, actor.username, now)
            return CommunityCreated(community_id, name)

        inputs = {"name": name}
        return await self.runner.once(
            "community", event_id, actor, inputs, action, CommunityCreated
        )

    async def create_compound(
        self,
        actor: Principal,
        event_id: str,
        community_id: int,
        name: str,
        kind: CompoundKind | str = CompoundKind.RESIDENTIAL,
    ) -> CompoundCreated:
        """A residential compound, a shop street or an office building (`kind`)."""
        name = check_name(name)
        kind = check_kind(CompoundKind, kind)

        async def action() -> CompoundCreated:
            await _require(store.Community, community_id, "community")
            if await store.exists(store.Compound, community=community_id, name=name):
                raise Duplicate(f"community {community_id} already has a compound named {name}")
            compound_id = await store.insert(
                store.Compound,
                community=community_id,
                name=name,
                kind=kind.value,
                created_at=self.clock.now(),
            )
            return CompoundCreated(compound_id, community_id, name, kind)

        # Residential compounds keep the fingerprint they had before kinds existed.
        inputs = {"community_id": community_id, "name": name}
        if kind is not CompoundKind.RESIDENTIAL:
            inputs["kind"] = kind.value
        return await self.runner.once("compound", event_id, actor, inputs, action, CompoundCreated)

    async def create_household(
        self, actor: Principal, event_id: str, request: HouseholdRequest
    ) -> HouseholdCreated:
        """A household at an address, or a shop or an office by its name (`kind`)."""
        kind = check_kind(HouseholdKind, request.kind)
        fields = check_unit(kind, request.building, request.unit, request.room, request.name)
        compound_id = request.compound_id

        async def action() -> HouseholdCreated:
            return await self.add_household(compound_id, kind=kind, **fields)

        # Households keep the fingerprint they had before kinds existed.
        inputs: dict[str, object] = {"compound_id": compound_id}
        if kind is HouseholdKind.HOUSEHOLD:
            inputs |= {part: fields[part] for part in ("building", "unit", "room")}
        else:
            inputs |= {"kind": kind.value, "name": fields["name"]}
        return await self.runner.once(
            "household", event_id, actor, inputs, action, HouseholdCreated
        )

    async def add_household(
        self,
        compound_id: int,
        *,
        building: str,
        unit: str,
        room: str,
        kind: HouseholdKind = HouseholdKind.HOUSEHOLD,
        name: str = "",
    ) -> HouseholdCreated:
        """In the caller's transaction: the household (or shop, office), its account, its
        first card."""
        compound = await store.get(store.Compound, compound_id)
        if compound is None:
            raise NotFound("compound", compound_id)
        check_unit_fits(compound["kind"], kind)
        if await store.exists(
            store.Household,
            compound=compound_id,
            building=building,
            unit=unit,
            room=room,
            name=name,
        ):
            what = name or f"{building}-{unit}-{room}"
            raise Duplicate(f"{what} is already registered in this compound")
        now = self.clock.now()
        community_id = int(compound["community"])
        account_id = await accounts_store.open_account(community_id, AccountKind.HOUSEHOLD, now)
        household_id = await store.insert(
            store.Household,
            compound=compound_id,
            kind=kind.value,
            name=name,
            building=building,
            unit=unit,
            room=room,
            account=account_id,
            card_serial=1,
            created_at=now,
            join_code=(join_code := draw_join_code()),
        )
        return HouseholdCreated(
            id=household_id,
            account_id=account_id,
            card_token=self.codes.token(CodeKind.HOUSEHOLD, household_id, 1),
            short_code=await self._short_code(CodeKind.HOUSEHOLD, household_id, 1),
            join_code=join_code,
        )

    async def reissue_card(
        self, actor: Principal, event_id: str, household_id: int
    ) -> CardReissued:
        """A lost card: the household keeps its account; every older card is refused, and so
        is the old card's join code (a finder of the lost card cannot join with it)."""

        async def action() -> CardReissued:
            serial = await store.bump_card_serial(household_id)
            if serial is None:
                raise NotFound("household", household_id)
            join_code = draw_join_code()
            await members_store.set_join_code(household_id, join_code)
            return CardReissued(
                card_token=self.codes.token(CodeKind.HOUSEHOLD, household_id, serial),
                short_code=await self._short_code(CodeKind.HOUSEHOLD, household_id, serial),
                join_code=join_code,
            )

        inputs = {"household_id": household_id}
        return await self.runner.once("card_reissue", event_id, actor, inputs, action, CardReissued)

    async def create_point(
        self, actor: Principal, event_id: str, compound_id: int, name: str, windows: list[str]
    ) -> PointCreated:
        name = check_name(name)
        window_text = ",".join(str(window) for window in parse_windows(windows))

        async def action() -> PointCreated:
            return await self.add_point(compound_id, name, window_text)

        inputs = {"compound_id": compound_id, "name": name, "windows": window_text}
        return await self.runner.once("point", event_id, actor, inputs, action, PointCreated)

    async def add_point(self, compound_id: int, name: str, window_text: str) -> PointCreated:
        point_id, token, short_code = await self._add_carded(
            store.CollectionPoint, CodeKind.POINT, compound_id, name, windows=window_text
        )
        return PointCreated(id=point_id, token=token, short_code=short_code)

    async def create_post(
        self, actor: Principal, event_id: str, compound_id: int, name: str
    ) -> PostCreated:
        name = check_name(name)

        async def action() -> PostCreated:
            return await self.add_post(compound_id, name)

        inputs = {"compound_id": compound_id, "name": name}
        return await self.runner.once("post", event_id, actor, inputs, action, PostCreated)

    async def add_post(self, compound_id: int, name: str) -> PostCreated:
        post_id, token, short_code = await self._add_carded(
            store.DutyPost, CodeKind.POST, compound_id, name
        )
        return PostCreated(id=post_id, token=token, short_code=short_code)

    async def _add_carded(
        self,
        table: store.TableClass,
        kind: CodeKind,
        compound_id: int,
        name: str,
        **columns: object,
    ) -> tuple[int, str, str]:
        """A named point or post of a compound with its first card: (id, token, short code)."""
        await _require(store.Compound, compound_id, "compound")
        if await store.exists(table, compound=compound_id, name=name):
            raise Duplicate(f"compound {compound_id} already has a {kind.value} named {name}")
        row_id = await store.insert(
            table,
            compound=compound_id,
            name=name,
            **columns,
            card_serial=1,
            created_at=self.clock.now(),
        )
        token = self.codes.token(kind, row_id, 1)
        return row_id, token, await self._short_code(kind, row_id, 1)

    async def create_merchant(
        self, actor: Principal, event_id: str, community_id: int, name: str
    ) -> AccountHolderCreated:
        return await self._create_account_holder(
            actor, event_id, "merchant", store.Merchant, AccountKind.MERCHANT, community_id, name
        )

    async def create_volunteer(
        self, actor: Principal, event_id: str, community_id: int, name: str
    ) -> AccountHolderCreated:
        return await self._create_account_holder(
            actor, event_id, "volunteer", store.Volunteer, AccountKind.VOLUNTEER, community_id, name
        )

    async def _create_account_holder(
        self,
        actor: Principal,
        event_id: str,
        operation: str,
        table: store.TableClass,
        kind: AccountKind,
        community_id: int,
        name: str,
    ) -> AccountHolderCreated:
        name = check_name(name)

        async def action() -> AccountHolderCreated:
            await _require(store.Community, community_id, "community")
            now = self.clock.now()
            account_id = await accounts_store.open_account(community_id, kind, now)
            row_id = await store.insert(
                table, community=community_id, name=name, account=account_id, created_at=now
            )
            return AccountHolderCreated(row_id, community_id, name, account_id)

        inputs = {"community_id": community_id, "name": name}
        created = AccountHolderCreated
        return await self.runner.once(operation, event_id, actor, inputs, action, created)

    async def create_reward(
        self,
        actor: Principal,
        event_id: str,
        community_id: int,
        name: str,
        cost_points: int,
        stock: int,
        monthly_limit_per_household: int | None,
        **terms: Any,
    ) -> RewardView:
        """Kept for callers of the registry; the catalogue owns rewards."""
        fields = RewardFields(
            name=name,
            cost_points=cost_points,
            stock=stock,
            monthly_limit_per_household=monthly_limit_per_household,
            **terms,
        )
        return await Catalog(self.clock, self.runner).create(actor, event_id, community_id, fields)

    async def page(
        self, resource: str, cursor: str | None, limit: int, filters: dict[str, int]
    ) -> RegistryPage:
        """One page of a registry list, in id order."""
        if not 1 <= limit <= PAGE_LIMIT_MAX:
            raise InvalidInput("limit", f"must be between 1 and {PAGE_LIMIT_MAX}")
        rows = await store.page(store.LISTABLE[resource], decode_cursor(cursor), limit + 1, filters)
        kind = CARD_KINDS.get(resource)
        carded = [(row["id"], row["card_serial"]) for row in rows[:limit]] if kind else []
        typed = await short_codes.current(kind.value, carded) if kind else {}
        items = [self._view(resource, row, typed.get(row["id"])) for row in rows[:limit]]
        more = len(rows) > limit
        return RegistryPage(items, encode_cursor(items[-1]["id"]) if more else None)

    async def _short_code(self, kind: CodeKind, subject_id: int, card_serial: int) -> str:
        """A new card's typed code, in the same transaction as the card."""
        return (await self.codes.issue(kind, [(subject_id, card_serial)]))[subject_id]

    def _view(
        self, resource: str, row: dict[str, Any], short_code: str | None = None
    ) -> dict[str, Any]:
        hidden = ("card_serial", "created_at", "join_code")  # the join code: on its sheet only
        view = {_public_name(key): value for key, value in row.items() if key not in hidden}
        if resource == "points":
            view["windows"] = [text for text in row["windows"].split(",") if text]
        kind = CARD_KINDS.get(resource)
        if kind is not None:
            view["token"] = self.codes.token(kind, row["id"], row["card_serial"])
            view["short_code"] = short_code
        return view


def _public_name(column: str) -> str:
    return f"{column}_id" if column in ("community", "compound", "account") else column


async def _require(table: store.TableClass, row_id: int, what: str) -> None:
    if await store.get(table, row_id) is None:
        raise NotFound(what, row_id)
