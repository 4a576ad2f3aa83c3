"""Subdistrict staff's operations that were only in the API: reversing an entry from an
account's history, settling a shop and downloading its statement, re-issuing a card (printed
at once), deactivating a user. Same services as the API; event ids in the URL as everywhere
(api/pages/once.py); refusals as in api/pages/op_pages.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get
from litestar.params import QueryParameter

from api.deps import PrincipalDep, ServicesDep
from api.pages import filters, forms
from api.pages.messages import unit_name
from api.pages.op_pages import OperationDep, household_shown, operation_post
from api.pages.scan import LIST_MAX
from api.pages.web import render
from api.params import OptionalId, PathId
from api.security import ADMIN_ONLY
from ledger.domain.errors import NotFound
from ledger.domain.localtime import local_day
from ledger.services import views
from ledger.services.container import Services

Search = Annotated[str, QueryParameter(max_length=40)]
HISTORY_MAX = 50


async def _households_matching(
    services: Services, community_id: int, search: str
) -> list[dict[str, Any]]:
    """Households of the community whose compound or address contains the words typed."""
    compounds = await services.registry.page(
        "compounds", None, LIST_MAX, {"community": community_id}
    )
    words = search.split()
    found = []
    for compound in compounds.items:
        rows = await services.registry.page(
            "households", None, LIST_MAX, {"compound": compound["id"]}
        )
        for row in rows.items:
            name = unit_name(row)
            text = f"{compound['name']} {name} {row['building']}-{row['unit']}-{row['room']}"
            if all(word in text for word in words):
                found.append(row | {"compound_name": compound["name"], "name": name})
    return found


@get("/staff/households", guards=ADMIN_ONLY, include_in_schema=False)
async def households(
    principal: PrincipalDep,
    services: ServicesDep,
    community_id: OptionalId = None,
    q: Search = "",
) -> Response[Any]:
    """Find a household by its compound or address: its history, a new card."""
    communities, chosen = await filters.community_choice(services, community_id)
    found = await _households_matching(services, chosen, q) if chosen and q.strip() else []
    return render(
        "staff_households.html",
        me=principal,
        communities=communities,
        community_id=chosen,
        q=q,
        households=found,
    )


@get("/staff/accounts/{account_id:int}", guards=ADMIN_ONLY, include_in_schema=False)
async def account_history(
    account_id: PathId, principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """The account's latest entries, each one that can be undone with a "Reverse" link."""
    account = await services.accounts.account(principal, account_id)
    entries = await services.accounts.entries(principal, account_id, None, HISTORY_MAX)
    reversed_ids = {e.reverses_entry_id for e in entries.items if e.reverses_entry_id}
    return render(
        "staff_account.html",
        me=principal,
        account=account,
        account_id=account_id,
        entries=entries.items,
        reversed_ids=reversed_ids,
    )


@get("/staff/entries/{entry_id:int}/reverse", guards=ADMIN_ONLY, include_in_schema=False)
async def reverse_form(entry_id: PathId, op: OperationDep) -> Response[Any]:
    return await op.form("reversal", entry_id=entry_id)


@operation_post("/staff/entries/{entry_id:int}/reverse", ADMIN_ONLY)
async def reverse(entry_id: PathId, op: OperationDep) -> Response[Any]:
    """The same `Accounts.reverse` as `POST /api/v1/entries/{id}/reverse`."""
    form, event_id = await op.posted()
    reason = forms.required(form, "reason")
    return await op.done(
        "reversal",
        event_id,
        lambda: op.services.accounts.reverse(op.principal, event_id, entry_id, reason),
        "/staff",
    )


async def _merchant(services: Services, merchant_id: int) -> dict[str, Any]:
    for community in await filters.communities(services):
        listed = await services.registry.page(
            "merchants", None, LIST_MAX, {"community": community["id"]}
        )
        for merchant in listed.items:
            if merchant["id"] == merchant_id:
                return dict(merchant)
    raise NotFound("merchant", merchant_id)


@get("/staff/merchants", guards=ADMIN_ONLY, include_in_schema=False)
async def merchants(
    principal: PrincipalDep, services: ServicesDep, community_id: OptionalId = None
) -> Response[Any]:
    """Each shop's points to settle, a settle button and its statement as CSV."""
    communities, chosen = await filters.community_choice(services, community_id)
    listed = (
        (await services.registry.page("merchants", None, LIST_MAX, {"community": chosen})).items
        if chosen
        else []
    )
    shops = [
        m
        | {"balance": (await services.accounts.account(principal, m["account_id"])).balance_points}
        for m in listed
    ]
    today = local_day(services.clock.now())
    return render(
        "staff_merchants.html",
        me=principal,
        communities=communities,
        community_id=chosen,
        merchants=shops,
        first=today.replace(day=1).isoformat(),
        last=today.isoformat(),
    )


@get("/staff/merchants/{merchant_id:int}/settle", guards=ADMIN_ONLY, include_in_schema=False)
async def settle_form(merchant_id: PathId, op: OperationDep) -> Response[Any]:

    async def more() -> dict[str, Any]:
        merchant = await _merchant(op.services, merchant_id)
        account = await op.services.accounts.account(op.principal, merchant["account_id"])
        return {"merchant": merchant, "balance": account.balance_points}

    return await op.form("settlement", more)


@operation_post("/staff/merchants/{merchant_id:int}/settle", ADMIN_ONLY)
async def settle(merchant_id: PathId, op: OperationDep) -> Response[Any]:
    """The same `Spending.settle` as `POST /api/v1/merchants/{id}/settlements`."""

    async def more() -> dict[str, Any]:
        return {"merchant": await _merchant(op.services, merchant_id)}

    return await op.once(
        "settlement",
        lambda event_id: op.services.spending.settle(op.principal, event_id, merchant_id),
        "/staff/merchants",
        more,
    )


@get("/staff/households/{household_id:int}/card", guards=ADMIN_ONLY, include_in_schema=False)
async def reissue_form(household_id: PathId, op: OperationDep) -> Response[Any]:
    return await op.form("card", household_shown(household_id))


@operation_post("/staff/households/{household_id:int}/card", ADMIN_ONLY)
async def reissue(household_id: PathId, op: OperationDep) -> Response[Any]:
    """The same `Registry.reissue_card` as `POST /api/v1/households/{id}/card:reissue`; the
    answer is the new card, ready to print (its QR image is the API's, always the newest)."""
    return await op.once(
        "card",
        lambda event_id: op.services.registry.reissue_card(op.principal, event_id, household_id),
        "/staff/households",
        household_shown(household_id),
    )


@get("/staff/users", guards=ADMIN_ONLY, include_in_schema=False)
async def users(principal: PrincipalDep) -> Response[Any]:
    """Every login with its role; an active one other than one's own can be deactivated."""
    return render("staff_users.html", me=principal, users=await views.users())


@get("/staff/users/{user_id:int}/deactivate", guards=ADMIN_ONLY, include_in_schema=False)
async def deactivate_form(user_id: PathId, op: OperationDep) -> Response[Any]:

    async def more() -> dict[str, Any]:
        return {"user": await op.services.users.reply(user_id)}

    return await op.form("deactivate", more)


@operation_post("/staff/users/{user_id:int}/deactivate", ADMIN_ONLY)
async def deactivate(user_id: PathId, op: OperationDep) -> Response[Any]:
    """The same `Users.deactivate` as `POST /api/v1/users/{id}:deactivate` (tokens revoked)."""
    return await op.once(
        "deactivate",
        lambda event_id: op.services.users.deactivate(op.principal, event_id, user_id),
        "/staff/users",
    )


STAFF_OPERATION_HANDLERS = [
    households,
    account_history,
    reverse_form,
    reverse,
    merchants,
    settle_form,
    settle,
    reissue_form,
    reissue,
    users,
    deactivate_form,
    deactivate,
]
