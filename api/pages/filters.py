"""What pages let one choose: a community (on staff's pages the first by default) and a period
of local days (`to` today by default)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from api.dates import parse_day
from ledger.services.container import Services

COMMUNITIES_MAX = 100


async def communities(services: Services) -> list[dict[str, Any]]:
    return list((await services.registry.page("communities", None, COMMUNITIES_MAX, {})).items)


async def community_choice(
    services: Services, community_id: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """Every community, and the one asked for (the first when none is; None when there is
    none)."""
    listed = await communities(services)
    return listed, community_id or (listed[0]["id"] if listed else None)


def period(
    first_text: str | None,
    last_text: str | None,
    today: date,
    first_by_default: Callable[[date], date],
) -> tuple[date, date]:
    """The days asked for: `to` is today unless given, `from` is `first_by_default(to)`."""
    last = parse_day(last_text, "to") if last_text else today
    return (parse_day(first_text, "from") if first_text else first_by_default(last)), last
