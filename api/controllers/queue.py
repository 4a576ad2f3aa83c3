"""A collection point's live queue: residents who scanned its code in the last 30 minutes."""

from __future__ import annotations

from litestar import Controller, Response, get

from api.deps import PrincipalDep, ServicesDep
from api.params import Cursor, Limit, PathId
from api.schemas import QueueItem, QueueReply
from api.security import requires
from ledger.domain.access import Role
from ledger.services.dropoff_queue import PointQueue


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
        point_id: PathId,
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
        queue = await services.queue.at_point(principal, point_id, cursor, limit)
        return Response(_reply(queue), headers={"Cache-Control": "no-store"})


def _reply(queue: PointQueue) -> QueueReply:
    items = [
        QueueItem(
            dropoff_id=item.dropoff_id,
            household_id=item.household_id,
            label=item.label,
            building=item.building,
            unit=item.unit,
            room=item.room,
            dropped_at=item.dropped_at.isoformat(),
            graded=item.graded,
            graded_streams=item.graded_streams,
            name=item.name,
        )
        for item in queue.items
    ]
    return QueueReply(point_id=queue.point_id, items=items, next_cursor=queue.next_cursor)
