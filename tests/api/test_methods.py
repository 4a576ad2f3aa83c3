"""Every method the app answers, on every path, pages included: `OPTIONS` is Litestar's own
204 with an `Allow` list, for anyone (the schemathesis run sends it too, over the documented
paths; this covers the pages, which the document leaves out)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import Headers

Api = tuple[AsyncTestClient[Any], Headers]


def http_routes(app: Litestar) -> list[HTTPRoute]:
    return [route for route in app.routes if isinstance(route, HTTPRoute)]


def options_handler(route: HTTPRoute) -> HTTPRouteHandler:
    (handler,) = [h for h in route.route_handlers if "OPTIONS" in h.http_methods]
    return handler


def concrete_path(route: HTTPRoute) -> str:
    """The route's path with each parameter filled by a value of its type."""
    values = {name: "1" if p.type is int else "x.png" for name, p in route.path_parameters.items()}
    return route.path_format.format(**values)


async def test_options_is_a_204_on_every_path_for_anyone(
    api: Api,
) -> None:
    client, admin = api
    routes = http_routes(client.app)
    assert len(routes) > 60
    for route in routes:
        path = concrete_path(route)
        for headers in ({}, admin):
            reply = await client.options(path, headers=headers)
            assert reply.status_code == 204, (path, reply.status_code, reply.text)
            assert "OPTIONS" in reply.headers["allow"].split(", "), path


def test_no_route_answers_options_itself(settings: Settings) -> None:
    """The role guards let OPTIONS through (api/security.py `requires`), which is safe only
    while Litestar's automatic handler, which reads and writes nothing, is the one answering."""
    for route in http_routes(create_app(settings)):
        qualname = options_handler(route).fn.__qualname__
        assert qualname.startswith("HTTPRoute.create_options_handler"), (route.path, qualname)
