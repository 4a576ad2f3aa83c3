"""The inbox on each person's home page, the unread count in the top bar, marking read."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.deps import PrincipalDep, ServicesDep
from api.pages import forms
from api.pages.notice_texts import with_text
from api.pages.web import HOME_BY_ROLE
from api.security import ANY_ROLE
from ledger.domain.access import Principal, Role
from ledger.services.container import Services

NOTICES_SHOWN = 10
# The roles whose home page has an inbox (residents and helpers, volunteers).
INBOX_ROLES = frozenset({Role.RESIDENT, Role.VOLUNTEER})


async def inbox(
    request: Request[Any, Any, Any], services: Services, principal: Principal
) -> list[dict[str, Any]]:
    """The newest notices, each with its text in the page's language. The top bar's unread
    count is taken again after them: one that arrived since `count_unread` would otherwise
    show in the list without its badge."""
    page = await services.notices.inbox(principal, None, NOTICES_SHOWN)
    request.state.unread_notices = await services.notices.unread(principal)
    return [with_text(item) for item in page.items]


async def count_unread(request: Request[Any, Any, Any]) -> None:
    """before_request of every page: the top bar's unread count, for those with an inbox."""
    user = request.scope.get("user")
    if isinstance(user, Principal) and user.role in INBOX_ROLES:
        services: Services = request.app.state.services
        request.state.unread_notices = await services.notices.unread(user)
        request.state.inbox_url = HOME_BY_ROLE[user.role] + "#notices"


@post("/notices/read", guards=ANY_ROLE, include_in_schema=False)
async def mark_read(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Redirect:
    """ "Mark all read" under the inbox: every notice up to the newest one shown (the same
    `Notices.mark_read` as `POST /api/v1/me/notices:read`)."""
    form = await forms.read(request)
    await services.notices.mark_read(principal, None, forms.integer(form, "up_to_id"))
    return Redirect(HOME_BY_ROLE[principal.role] + "#notices", status_code=HTTP_303_SEE_OTHER)


INBOX_HANDLERS = [mark_read]
