"""Server-rendered pages for every role: Chinese first, mobile first, little JavaScript.

The pages call the same service methods as the JSON API; they decode a form, call one
method and render its answer. The README (Pages) has the map of pages.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.types import Middleware

from api.pages.admin import admin_mount
from api.pages.auth import login, login_form, logout, start
from api.pages.books import BOOKS_HANDLERS
from api.pages.counter import COUNTER_HANDLERS
from api.pages.errors import PAGE_EXCEPTION_HANDLERS, negotiated_handlers
from api.pages.fair_inspections import FAIR_INSPECTION_HANDLERS
from api.pages.field_app import FIELD_APP_HANDLERS
from api.pages.i18n import PreferencesMiddleware, configure_jinja
from api.pages.inbox import INBOX_HANDLERS, count_unread
from api.pages.joining import JOINING_HANDLERS
from api.pages.messages import JINJA_FILTERS
from api.pages.operations import OPERATION_HANDLERS
from api.pages.people import PEOPLE_HANDLERS
from api.pages.rotation import ROTATION_HANDLERS
from api.pages.scan import SCAN_HANDLERS
from api.pages.staff import STAFF_HANDLERS
from api.pages.staff_ops import STAFF_OPERATION_HANDLERS
from api.pages.transparency_pages import TRANSPARENCY_HANDLERS
from api.pages.volunteering import VOLUNTEERING_HANDLERS
from api.pages.web import CSRFGate, SecurityHeadersMiddleware, csrf_config
from api.settings import Settings

STATIC = Path(__file__).resolve().parents[1] / "static"
STATIC_MAX_AGE_SECONDS = 3600


def page_handlers(settings: Settings) -> list[Router | ASGIRouteHandler]:
    """Every page, the static files, and piccolo-admin at /admin."""
    return [_page_router(), _static_router(), admin_mount(settings)]


def _page_router() -> Router:
    """Every page, with errors rendered as pages (a 401 becomes the sign-in form)."""
    return Router(
        path="/",
        route_handlers=[
            start,
            login_form,
            login,
            logout,
            *SCAN_HANDLERS,
            *COUNTER_HANDLERS,
            *PEOPLE_HANDLERS,
            *JOINING_HANDLERS,
            *STAFF_HANDLERS,
            *BOOKS_HANDLERS,
            *OPERATION_HANDLERS,
            *STAFF_OPERATION_HANDLERS,
            *VOLUNTEERING_HANDLERS,
            *FIELD_APP_HANDLERS,
            *INBOX_HANDLERS,
            *TRANSPARENCY_HANDLERS,
            *ROTATION_HANDLERS,
            *FAIR_INSPECTION_HANDLERS,
        ],
        before_request=count_unread,
        exception_handlers=PAGE_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )


def _static_router() -> Router:
    return create_static_files_router(
        path="/static",
        directories=[STATIC],
        opt={"public": True},
        include_in_schema=False,
        cache_control=None,
    )


def page_middleware(settings: Settings) -> list[Middleware]:
    """Language and text size, then security headers, then CSRF (after authentication)."""
    return [
        PreferencesMiddleware(),
        SecurityHeadersMiddleware(),
        DefineMiddleware(CSRFGate, config=csrf_config(settings)),
    ]


def configure_templates(engine: JinjaTemplateEngine) -> None:
    configure_jinja(engine)
    engine.engine.filters.update(JINJA_FILTERS)


__all__ = ["configure_templates", "negotiated_handlers", "page_handlers", "page_middleware"]
