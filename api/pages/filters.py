"""What pages let one choose: a community (on staff's pages the first by default) and a period
of local days (`to` today by default)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from api.dates import parse_day
from api.deps import AskedPeriod, Period
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


@dataclass(frozen=True, slots=True)
class Choice:
    """A staff page's community and days, and the communities it offers."""

    communities: list[dict[str, Any]]
    community_id: int | None
    first: date
    last: date

    @property
    def period(self) -> Period | None:
        """The report's community and days, once there is a community to report on."""
        return (
            None if self.community_id is None else Period(self.community_id, self.first, self.last)
        )

    def context(self) -> dict[str, Any]:
        """What every such page's template shows of it."""
        return {
            "communities": self.communities,
            "community_id": self.community_id,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
        }


async def choice(
    services: Services, asked: AskedPeriod, today: date, first_by_default: Callable[[date], date]
) -> Choice:
    """The community asked for (the first by default) and the days: `to` is today unless
    given, `from` is `first_by_default(to)`."""
    communities, chosen = await community_choice(services, asked.community_id)
    last = parse_day(asked.to, "to") if asked.to else today
    first = parse_day(asked.from_, "from") if asked.from_ else first_by_default(last)
    return Choice(communities, chosen, first, last)
