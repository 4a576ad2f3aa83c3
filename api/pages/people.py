"""Home pages of residents, volunteers and inspectors."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from api import qr_images
from api.deps import PrincipalDep, ServicesDep
from api.pages import forms
from api.pages.inbox import inbox
from api.pages.messages import household_choices, unit_name
from api.pages.once import page_event_id, with_new_event_id
from api.pages.web import new_event_id, render
from api.schemas import ID_MAX
from api.security import requires
from ledger.domain.access import Principal, Role, acting_household
from ledger.domain.errors import Forbidden
from ledger.domain.leaderboard import Board, Period
from ledger.domain.localtime import local_day
from ledger.domain.scan_codes import CodeKind
from ledger.services import views
from ledger.services.accounts import Expiring
from ledger.services.container import Services
from ledger.store.views import HouseholdView

InspectionId = Annotated[int, PathParameter(ge=1, le=ID_MAX)]
ChosenHousehold = Annotated[
    int | None, QueryParameter(name="household", ge=1, le=ID_MAX, required=False)
]
RESIDENTS = [requires(Role.RESIDENT)]
ENTRIES_SHOWN = 10
GRADES_SHOWN = 5
EXPIRY_GROUPS_SHOWN = 3
RANKED_MAX = 100
REWARDS_LISTED_MAX = 100
# Lots expiring within this many days are called out above the history.
EXPIRING_SOON_DAYS = 60
APPEAL_REASON_LENGTH_MAX = 500


def _household_id(principal: Principal, chosen: int | None = None) -> int:
    """The household the page shows: the one chosen (`?household=`, one of theirs), else the
    one they live in, else their only or first one (a helper switches between them)."""
    mine = principal.households()
    if not mine:
        raise Forbidden("this resident has no household")
    if chosen is not None:
        return acting_household(principal, chosen)
    if principal.household_id is not None:
        return principal.household_id
    return min(mine)


@get("/home", guards=RESIDENTS, include_in_schema=False)
async def resident_home(
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
    household_choice: ChosenHousehold = None,
) -> Response[Any]:
    """Balance, what expires soon, the rewards within reach, recent entries and grades (with
    the inspector's reasons and the appeal's decision), rank, and the card to show; the
    household's members (remove buttons) and, for someone of several households, a switch."""
    household = await views.household(_household_id(principal, household_choice))
    account = await services.accounts.account(principal, household.account)
    entries = await services.accounts.entries(principal, household.account, None, ENTRIES_SHOWN)
    token = await services.codes.token_for(CodeKind.HOUSEHOLD, household.id)
    card_svg = await asyncio.to_thread(qr_images.svg_inline, services.codes.url(token))
    grades = await views.recent_grades(household.id, GRADES_SHOWN)
    today = local_day(services.clock.now())
    rewards = await services.registry.page(
        "rewards", None, REWARDS_LISTED_MAX, {"community": household.community_id}
    )
    affordable, next_reward = within_reach(account.balance_points, rewards.items)
    return render(
        "home.html",
        me=principal,
        household=household,
        address=unit_name(household),
        balance=account.balance_points,
        expiring=account.expiring[:EXPIRY_GROUPS_SHOWN],
        expiring_soon=expiring_soon(account.expiring, today),
        affordable=affordable,
        next_reward=next_reward,
        entries=entries.items,
        grades=grades,
        photos=await services.photos.refs_of_inspections([g.id for g in grades]),
        rank=await _rank(services, household),
        card_svg=card_svg,
        mine=household_choices(await services.members.households_of(principal)),
        helping=household.id in principal.helping,
        members=(await services.members.members(principal, household.id)).items,
        remove_event_id=new_event_id(),
        notices=await inbox(request, services, principal),
    )


def within_reach(
    balance_points: int, rewards: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Active rewards in stock the balance pays for (cheapest first), and the cheapest one it
    does not yet, with how many points are missing. The counter still checks the reward's days
    and monthly limit when it is redeemed."""
    offered = sorted(
        (r for r in rewards if r["active"] and r["stock"] > 0),
        key=lambda r: (r["cost_points"], r["id"]),
    )
    affordable = [r for r in offered if r["cost_points"] <= balance_points]
    beyond = next((r for r in offered if r["cost_points"] > balance_points), None)
    if beyond is None:
        return affordable, None
    return affordable, beyond | {"short_points": beyond["cost_points"] - balance_points}


def expiring_soon(groups: list[Expiring], today: date) -> dict[str, Any] | None:
    """Points whose lots expire within EXPIRING_SOON_DAYS, and the day by which all of them do."""
    soon = [
        g
        for g in groups
        if date.fromisoformat(g.expires_on) - today <= timedelta(days=EXPIRING_SOON_DAYS)
    ]
    if not soon:
        return None
    return {"points": sum(g.points for g in soon), "last": max(g.expires_on for g in soon)}


async def _rank(services: Services, household: HouseholdView) -> dict[str, Any] | None:
    """This month's place among the compound's households (the public board's answer)."""
    board = await services.boards.leaderboard(
        Board.HOUSEHOLDS,
        Period.MONTH,
        household.compound,
        RANKED_MAX,
        local_day(services.clock.now()),
    )
    for item in board.items:
        if item.id == str(household.id):
            return {"rank": item.rank, "points": item.value, "of": len(board.items)}
    return None


@get("/home/appeal/{inspection_id:int}", guards=RESIDENTS, include_in_schema=False)
async def appeal_form(
    inspection_id: InspectionId, request: Request[Any, Any, Any], principal: PrincipalDep
) -> Response[Any]:
    event_id = page_event_id(request)
    if event_id is None:  # one appeal per opening of the form, whatever is resent
        return with_new_event_id(request)
    graded = None
    for household_id in sorted(principal.households()):
        grades = await views.recent_grades(household_id, 50)
        graded = graded or next((g for g in grades if g.id == inspection_id), None)
    return render(
        "appeal.html",
        me=principal,
        inspection_id=inspection_id,
        graded=graded,
        event_id=event_id,
    )


@post(
    "/home/appeal/{inspection_id:int}",
    guards=RESIDENTS,
    include_in_schema=False,
    status_code=HTTP_200_OK,
)
async def appeal(
    inspection_id: InspectionId,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    """The same `Appeals.open` as `POST /api/v1/inspections/{id}/appeal`."""
    form = await forms.read(request)
    result = await services.appeals.open(
        principal,
        forms.required(form, "event_id", 64),
        inspection_id,
        forms.required(form, "reason", APPEAL_REASON_LENGTH_MAX),
    )
    return render("done.html", me=principal, what="appeal", result=result, back="/home")


@get("/volunteer", guards=[requires(Role.VOLUNTEER)], include_in_schema=False)
async def volunteer_home(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """Hours kept forever, the star level, what waits for approval, the certificate."""
    if principal.volunteer_id is None:
        raise Forbidden("this user is not a registered volunteer")
    hours = await services.shifts.hours(principal, principal.volunteer_id)
    balances = [await services.accounts.account(principal, a) for a in principal.account_ids]
    return render(
        "volunteer.html",
        me=principal,
        hours=hours,
        points=sum(b.balance_points for b in balances if b.kind == "volunteer"),
        shifts=await views.recent_shifts(principal.volunteer_id, ENTRIES_SHOWN),
        open_shift=await views.open_shift(principal.volunteer_id),
        certificate=f"/api/v1/volunteers/{principal.volunteer_id}/certificate",
        notices=await inbox(request, services, principal),
    )


@get("/inspector", guards=[requires(Role.INSPECTOR)], include_in_schema=False)
async def inspector_home(
    principal: PrincipalDep, request: Request[Any, Any, Any], services: ServicesDep
) -> Response[Any]:
    """Scan a card with the phone's camera, or type its code; queued grades sync from here.
    Today's compounds: the rotation plan's this week, or else those the inspector serves."""
    today = await services.rotation.today(principal)
    return render(
        "inspector.html",
        me=principal,
        today=today,
        compounds=[c.name for c in today.compounds],
    )


PEOPLE_HANDLERS = [resident_home, appeal_form, appeal, volunteer_home, inspector_home]
