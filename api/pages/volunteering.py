"""Volunteers apply from a duty post's code or a community link, signed out, on a phone; the
community's coordinators approve or decline them. Same `Volunteers` service as the API
(`POST /api/v1/volunteers/applications`, `…/{id}:approve|decline`); event ids in the URL
(api/pages/once.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.status_codes import HTTP_200_OK

from api.deps import PrincipalDep, ServicesDep
from api.errors import STATUS_BY_CODE
from api.pages import filters, forms
from api.pages.messages import refusal_text
from api.pages.once import for_purpose, page_event_id, with_new_event_id
from api.pages.web import new_event_id, render, viewer
from api.params import OptionalId, PathId
from api.security import requires
from ledger.domain.access import Role
from ledger.domain.errors import LedgerError
from ledger.domain.volunteering import Affiliation
from ledger.services.container import Services
from ledger.services.volunteers import ApplicationRequest

COORDINATORS = [requires(Role.COORDINATOR, Role.ADMIN)]
APPLICATIONS_SHOWN = 100
# What the form keeps when it comes back with a refusal: everything but the PIN.
KEPT_FIELDS = ("name", "phone", "community_id", "affiliation", "party_branch")
TYPED_LENGTH_MAX = 120


def apply_url(community_id: int) -> str:
    """The community link a duty post's page (or a poster) offers to signed-out visitors."""
    return f"/volunteer/apply?community={community_id}"


@get("/volunteer/apply", opt={"public": True}, include_in_schema=False)
async def apply_form(
    request: Request[Any, Any, Any], services: ServicesDep, community: OptionalId = None
) -> Response[Any]:
    """Name, mobile number, PIN, community (chosen already when the link names it) and the
    party the volunteer serves with."""
    event_id = page_event_id(request)
    if event_id is None:  # one application per opening of the form, whatever is resent
        return with_new_event_id(request)
    return await _form(request, services, event_id, {"community_id": community})


async def _form(
    request: Request[Any, Any, Any],
    services: Services,
    event_id: str,
    values: dict[str, Any],
    error: str | None = None,
    status_code: int = HTTP_200_OK,
) -> Response[Any]:
    return render(
        "volunteer_apply.html",
        status_code,
        me=await viewer(request),
        event_id=event_id,
        action=f"/volunteer/apply?event={event_id}",
        communities=await filters.communities(services),
        affiliations=[a.value for a in Affiliation],
        values=values,
        error=error,
    )


@post("/volunteer/apply", opt={"public": True}, include_in_schema=False, status_code=HTTP_200_OK)
async def apply(request: Request[Any, Any, Any], services: ServicesDep) -> Response[Any]:
    """The same `Volunteers.apply` as the API; a refusal shows the form again with the values
    typed (but the PIN) and what to fix."""
    form = await forms.read(request)
    event_id = forms.required(form, "event_id", 64)
    try:
        application = ApplicationRequest(
            forms.integer(form, "community_id"),
            forms.text(form, "name", 100),
            forms.text(form, "phone", 40),
            forms.text(form, "pin", 32),
            forms.text(form, "affiliation", 40) or None,
            forms.text(form, "party_branch", 200) or None,
        )
        result = await services.volunteers.apply(event_id, application)
    except LedgerError as refusal:
        status = STATUS_BY_CODE.get(refusal.code, 400)
        values = _typed(form)
        # A stored refusal (`duplicate`, `not_found`) holds its event id: the corrected form
        # is another application, so it goes out under a new one (else 409 for ever).
        resend_id = new_event_id() if refusal.stored else event_id
        return await _form(request, services, resend_id, values, refusal_text(refusal), status)
    return render("volunteer_applied.html", me=await viewer(request), result=result)


def _typed(form: FormMultiDict) -> dict[str, str]:
    """What was typed, to show again (printable text only, cut short); never the PIN."""
    kept = {}
    for name in KEPT_FIELDS:
        value = form.get(name, "")
        text = value if isinstance(value, str) else ""
        kept[name] = "".join(ch for ch in text if ch.isprintable())[:TYPED_LENGTH_MAX]
    return kept


@get("/coordinator/volunteers", guards=COORDINATORS, include_in_schema=False)
async def applications(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """Pending applications of the communities the coordinator serves, each with approve
    and decline (their event ids come from this page's own, in its URL)."""
    event_id = page_event_id(request)
    if event_id is None:
        return with_new_event_id(request)
    listed = await services.volunteers.page(principal, "pending", None, None, APPLICATIONS_SHOWN)
    names = {c["id"]: c["name"] for c in await filters.communities(services)}
    return render(
        "coordinator_volunteers.html",
        me=principal,
        applications=listed.items,
        more=listed.next_cursor is not None,
        communities=names,
        event_ids={
            item.id: {
                verb: for_purpose(event_id, f"{item.id}-{verb}") for verb in ("approve", "decline")
            }
            for item in listed.items
        },
    )


@post(
    "/coordinator/volunteers/{application_id:int}",
    guards=COORDINATORS,
    include_in_schema=False,
    status_code=HTTP_200_OK,
)
async def decide(
    application_id: PathId,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    """The same `Volunteers.decide` as `POST /api/v1/volunteers/applications/{id}:approve`."""
    form = await forms.read(request)
    outcome = forms.choice(form, "outcome", ["approve", "decline"])
    result = await services.volunteers.decide(
        principal, forms.required(form, "event_id", 64), application_id, outcome == "approve"
    )
    return render(
        "done.html",
        me=principal,
        what="volunteer_application",
        result=result,
        back="/coordinator/volunteers",
    )


VOLUNTEERING_HANDLERS = [apply_form, apply, applications, decide]
