"""Public leaderboards and the red/black list: no names, no full addresses."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.types import Scope

from api.dates import parse_optional_day, within_range
from api.deps import ServicesDep
from api.limits import RIDES_WITH_READ, hits_for_read
from api.schemas import ID_MAX, BoardReply, RedBlackReply
from ledger.domain.errors import InvalidInput
from ledger.domain.leaderboard import Board, Period, half_month_day
from ledger.domain.localtime import local_day

ScopeId = Annotated[
    int,
    QueryParameter(
        ge=1, le=ID_MAX, description="compound for households and buildings, else community"
    ),
]
Day = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^\d{4}-\d{2}-\d{2}$", description="a day in the period (default today)"
    ),
]


class LeaderboardController(Controller):
    path = "/api/v1/leaderboards"
    tags = ["leaderboards"]
    opt = {"public": True}

    @get("/", operation_id="Leaderboard", opt={RIDES_WITH_READ: True})
    async def leaderboard(
        self,
        scope: Scope,
        services: ServicesDep,
        board: Annotated[Board, QueryParameter()],
        scope_id: ScopeId,
        period: Annotated[Period, QueryParameter()] = Period.MONTH,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
        day: Day = None,
    ) -> BoardReply:
        """households and buildings rank within a compound (`scope_id` = compound); compounds
        and volunteers within a community. Ties share a rank and are listed by id."""
        when = parse_optional_day(day, "day") or local_day(services.clock.now())
        # The request's rate-limit counters go in the round trip of the board's Redis read.
        result = await services.boards.leaderboard(
            board, period, scope_id, limit, when, hits_for_read(scope)
        )
        return msgspec.convert(result, BoardReply, from_attributes=True)

    @get("/redblack", operation_id="RedBlackList")
    async def redblack(
        self,
        services: ServicesDep,
        community_id: Annotated[int, QueryParameter(ge=1, le=ID_MAX)],
        half_month: Annotated[str | None, QueryParameter(pattern=r"^\d{4}-\d{2}-[12]$")] = None,
    ) -> RedBlackReply:
        """红黑榜: top and bottom 5 compounds by accuracy in a half-month (`2026-11-2`)."""
        when = _half_month(half_month) if half_month else local_day(services.clock.now())
        red_black = await services.boards.redblack(community_id, when)
        return msgspec.convert(red_black, RedBlackReply, from_attributes=True)


def _half_month(text: str) -> date:
    try:
        day = half_month_day(text)
    except ValueError as error:
        raise InvalidInput("half_month", "must look like 2026-11-1 or 2026-11-2") from error
    return within_range(day, "half_month")
