"""A request the database failed during a restart logs one warning line naming the route and the
event_id, not a traceback (issue 12 item 14: 23 tracebacks for one restart)."""

from __future__ import annotations

import logging

import asyncpg
import msgspec
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from api.errors import EXCEPTION_HANDLERS


class Body(msgspec.Struct):
    event_id: str


@post("/api/v1/inspections")
async def cut(data: JSONBody[Body]) -> None:
    raise asyncpg.exceptions.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation"
    )


@post("/api/v1/broken")
async def broken(data: JSONBody[Body]) -> None:
    raise ZeroDivisionError("a bug")


APP = Litestar([cut, broken], exception_handlers=EXCEPTION_HANDLERS)


async def test_a_cut_connection_is_one_warning_line_with_route_and_event_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with AsyncTestClient(app=APP) as client:
        with caplog.at_level(logging.WARNING, logger="api.errors"):
            response = await client.post("/api/v1/inspections", json={"event_id": "ev-41"})
    # Issue 17: an outage answers 503 `database_unavailable` (send again), not 500.
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "1"
    (record,) = [r for r in caplog.records if r.name == "api.errors"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    message = record.getMessage()
    assert "POST /api/v1/inspections" in message
    assert "event_id=ev-41" in message
    assert "ConnectionDoesNotExistError" in message
    assert "\n" not in message


async def test_any_other_failure_still_logs_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async with AsyncTestClient(app=APP) as client:
        with caplog.at_level(logging.WARNING, logger="api.errors"):
            response = await client.post("/api/v1/broken", json={"event_id": "ev-42"})
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if r.name == "api.errors"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
