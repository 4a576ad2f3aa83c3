"""A collection point's live queue: residents who scanned its code in the last 30 minutes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.params import PathParameter, QueryParameter

from api.deps import PrincipalDep, ServicesDep
from api.schemas import ID_MAX, QueueReply
from api.security import requires
from ledger.domain.access import Role

PointId = Annotated[int, PathParameter(ge=1, le=ID_MAX)]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (default 50).")]
Cursor = Annotated[str | None, QueryParameter(max_length=100, description="From next_cursor.")]


class QueueController(Controller):
    path = "/api/v1"
    tags = ["earning"]

    @get(
        "/points/{point_id:int}/queue",
        operation_id="PointQueue",
        guards=[requires(Role.INSPECTOR, Role.COORDINATOR, Role.ADMIN)],
    )
    async def queue(
        self,
        point_id: PointId,
        principal: PrincipalDep,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[QueueReply]:
        """Residents' drop-offs at this point in the last 30 minutes, oldest first, each with
        the household as its card names it and the streams already graded from it; grade one
        with `POST /api/v1/inspections` and its `dropoff_id`. Inspectors and coordinators of
        the point's compound (403 `out_of_scope` elsewhere), admins. Never cached: the
        inspector's page asks again every few seconds."""
        result: dict[str, Any] = await services.queue.at_point(principal, point_id, cursor, limit)
        reply = msgspec.convert(_texts(result), QueueReply)
        return Response(reply, headers={"Cache-Control": "no-store"})


def _texts(result: dict[str, Any]) -> dict[str, Any]:
    items = [item | {"dropped_at": item["dropped_at"].isoformat()} for item in result["items"]]
    return result | {"items": items}
