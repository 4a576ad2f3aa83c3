"""One action, one event id, whatever the browser resends.

The page that starts an action (choosing a reward, opening a card's grading form, a point's
drop-off button, a post's check-in) mints the event id once and keeps it in its own URL
(`?event=…`, added by a redirect on the first visit). Back, reload and a double tap then send
the same id, and `Runner.once` replays the first result instead of acting again; scanning the
card again, or choosing again at the counter, starts a new URL and so a new action.
docs/decisions/2026-12-06-event-id-in-the-url.md says why the URL and not a hidden field.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

EVENT_PARAM = "event"
_MINTED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def page_event_id(request: Request[Any, Any, Any]) -> str | None:
    """The event id this page's URL carries, when it is one the pages minted."""
    value = request.query_params.get(EVENT_PARAM, "")
    return value if _MINTED.fullmatch(value) else None


def with_new_event_id(request: Request[Any, Any, Any]) -> Redirect:
    """The same page with a fresh event id in its URL (and any other parameters kept)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != EVENT_PARAM]
    query.append((EVENT_PARAM, str(uuid.uuid4())))
    return Redirect(f"{request.url.path}?{urlencode(query)}", status_code=HTTP_303_SEE_OTHER)


def for_purpose(event_id: str, purpose: str) -> str:
    """One page, several actions (check in, check out; one grade per stream): one id each."""
    return f"{event_id}:{purpose}"
