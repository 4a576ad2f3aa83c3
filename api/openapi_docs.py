"""Touches to the OpenAPI document that Litestar cannot infer from a handler's signature."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

# Swagger UI's own files, from the swagger-ui-bundle-v2 package: the docs work on a closed
# network, and the pages' CSP (same origin only) lets them run.
SWAGGER_ASSETS = "/swagger-ui"
SWAGGER_ASSETS_MAX_AGE_SECONDS = 24 * 3600


def also_answers(*media_types: str) -> type[Operation]:
    """An operation class whose 200 reply also lists `media_types`, for handlers that answer
    in another format by `?format=`, `Accept` or the file extension (CSV, PNG): a client, or
    schemathesis, then finds every content type it can receive documented."""

    @dataclass
    class AlsoAnswers(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if not isinstance(ok, OpenAPIResponse):
                return
            content = ok.content if ok.content is not None else {}
            for media_type in media_types:
                binary = not media_type.startswith("text/")
                schema = Schema(
                    type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY if binary else None
                )
                content.setdefault(media_type, OpenAPIMediaType(schema=schema))
            ok.content = content

    return AlsoAnswers


class OfflineSwagger(SwaggerRenderPlugin):
    """/schema/swagger from files this app serves: no CDN, and no inline script (the start-up
    is api/static/swagger-init.js), so the page runs under the site's strict CSP."""

    def __init__(self, spec_url: str = "/schema/openapi.json") -> None:
        super().__init__(
            js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
        )
        self.spec_url = spec_url

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{SWAGGER_ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="{self.css_url}">
</head>
<body>
<div id="swagger-container"></div>
<script src="{self.js_url}"></script>
<script src="{self.standalone_preset_js_url}"></script>
<script src="/static/swagger-init.js" data-spec="{html.escape(self.spec_url)}"></script>
</body>
</html>
"""
        return page.encode()


def swagger_assets() -> Router:
    return create_static_files_router(
        path=SWAGGER_ASSETS,
        directories=[swagger_ui_path],
        opt={"public": True},
        include_in_schema=False,
        cache_control=None,
        name="swagger_assets",
    )
