"""Everyone hears back: the signed-in person's notices and their read marks."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.deps import PrincipalDep, ServicesDep
from api.pages.notice_texts import with_text
from api.params import Cursor, Limit
from api.schemas import Marked, NoticePage, NoticesRead
from api.schemas import NoticeItem as NoticeItemType
from api.security import ANY_ROLE


class NoticeController(Controller):
    path = "/api/v1/me"
    tags = ["notices"]

    @get("/notices", operation_id="MyNotices", guards=ANY_ROLE)
    async def notices(
        self,
        principal: PrincipalDep,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> NoticePage:
        """Newest first: the notices of every household the caller belongs to (as a resident or
        a helper) and their own as a volunteer; `text` in the request's language (`?lang=`,
        `Accept-Language`; Chinese by default); `unread` counts all of them."""
        page = await services.notices.inbox(principal, cursor, limit)
        return NoticePage(
            items=[msgspec.convert(with_text(item), NoticeItemType) for item in page.items],
            next_cursor=page.next_cursor,
            unread=await services.notices.unread(principal),
        )

    @post("/notices:read", operation_id="MarkNoticesRead", guards=ANY_ROLE, status_code=HTTP_200_OK)
    async def mark_read(
        self, data: JSONBody[NoticesRead], principal: PrincipalDep, services: ServicesDep
    ) -> Marked:
        """Mark `ids`, or every notice up to `up_to_id`, read (for the caller only). Marking a
        read notice again changes nothing, so no event_id is needed; ids of notices the caller
        does not get are ignored."""
        marked = await services.notices.mark_read(principal, data.ids, data.up_to_id)
        return Marked(marked=marked.marked, unread=marked.unread)
