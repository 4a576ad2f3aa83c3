"""The shapes every staff operation's pages share: the form page under its own event id
(api/pages/once.py), the POST that reads that id, acts once and says whether it was a replay,
and the refusal that offers the form again. Each page handler states only what differs: its
`what`, its action and the context its template needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK

from api.deps import PrincipalDep, ServicesDep
from api.errors import STATUS_BY_CODE
from api.pages import forms
from api.pages.messages import refusal_texts, unit_name
from api.pages.once import page_event_id, with_new_event_id
from api.pages.web import render
from ledger.domain.access import Principal
from ledger.domain.errors import LedgerError
from ledger.services import views
from ledger.services.container import Services
from ledger.services.runner import DONE

Context = Callable[[], Awaitable[dict[str, Any]]]
"""Template context read only when needed (after the redirect, or after the action)."""


def operation_refused(request: Request[Any, Any, Any], exc: LedgerError) -> Template:
    """Every reason, the field named; "Try again" opens the form afresh (a new event id)."""
    return render(
        "op_refused.html",
        STATUS_BY_CODE.get(exc.code, 400),
        me=request.user,
        reasons=refusal_texts(exc),
        back=request.url.path,
    )


OPERATION_ERRORS: dict[Any, Any] = {LedgerError: operation_refused}


def operation_post(path: str, guards: list[Any], errors: dict[Any, Any] | None = None) -> post:
    """A page's POST: 200 with its answer page, a refusal rendered by `errors`."""
    return post(
        path,
        guards=guards,
        include_in_schema=False,
        status_code=HTTP_200_OK,
        exception_handlers=OPERATION_ERRORS if errors is None else errors,
    )


async def already(services: Services, principal: Principal, event_id: str) -> bool:
    """This event was done before: the page says the answer is a replay."""
    return await services.runner.outcome_of(event_id, principal) == DONE


@dataclass(frozen=True, slots=True)
class Operation:
    """One request to a staff operation's pages: the request, who makes it and the services.
    Handlers take it as `op: OperationDep` and state only what differs between operations."""

    request: Request[Any, Any, Any]
    principal: Principal
    services: Services

    async def form(self, what: str, more: Context | None = None, **context: Any) -> Response[Any]:
        """`op_form.html` for `what`, posting to its own URL; the first visit mints the event
        id."""
        event_id = page_event_id(self.request)
        if event_id is None:
            return with_new_event_id(self.request)
        extra = await more() if more is not None else {}
        return render(
            "op_form.html",
            me=self.principal,
            what=what,
            action=self.request.url.path,
            event_id=event_id,
            outcome=await self.services.runner.outcome_of(event_id, self.principal),
            **context,
            **extra,
        )

    async def posted(self) -> tuple[FormMultiDict, str]:
        """The posted form and the event id it carries."""
        form = await forms.read(self.request)
        return form, forms.required(form, "event_id", 64)

    async def done(
        self,
        what: str,
        event_id: str,
        act: Callable[[], Awaitable[Any]],
        back: str,
        more: Context | None = None,
        **context: Any,
    ) -> Response[Any]:
        """Does `act` once (a replay when the event was done before) and shows
        `op_done.html`."""
        again = await already(self.services, self.principal, event_id)
        result = await act()
        extra = await more() if more is not None else {}
        return render(
            "op_done.html",
            me=self.principal,
            what=what,
            result=result,
            **context,
            **extra,
            again=again,
            back=back,
        )

    async def once(
        self,
        what: str,
        act: Callable[[str], Awaitable[Any]],
        back: str,
        more: Context | None = None,
    ) -> Response[Any]:
        """An operation whose form carries nothing but its event id: `act(event_id)` once,
        then `op_done.html`."""
        _, event_id = await self.posted()
        return await self.done(what, event_id, lambda: act(event_id), back, more)


def provide_operation(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Operation:
    return Operation(request, principal, services)


OperationDep = NamedDependency[Operation]


def household_shown(household_id: int) -> Context:
    """The household an operation's page shows, named as pages name it (an address, or a
    shop's or an office's name)."""

    async def more() -> dict[str, Any]:
        row = await views.household(household_id)
        return {"household": replace(row, name=unit_name(row))}

    return more
