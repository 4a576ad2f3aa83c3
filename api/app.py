"""The composition root: settings in, a Litestar app out."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from api.controllers.audit import audit
from api.controllers.auth import AuthController
from api.controllers.chain import ChainController, ReceiptController
from api.controllers.codes import CodeController
from api.controllers.coordination import CoordinationController
from api.controllers.earning import EarningController
from api.controllers.health import health, live, ready
from api.controllers.inspections import InspectionReportController, ReinspectionController
from api.controllers.leaderboards import LeaderboardController
from api.controllers.ledger import LedgerController
from api.controllers.members import MembersController
from api.controllers.notices import NoticeController
from api.controllers.photos import PhotoController
from api.controllers.queue import QueueController
from api.controllers.registry import RegistryController
from api.controllers.reports import ReportController
from api.controllers.rotation import RotationController
from api.controllers.spending import SpendingController
from api.controllers.volunteers import VolunteerApplicationController
from api.deps import provide_asked_period, provide_period, provide_principal, services_in
from api.errors import ERROR_RESPONSES, EXCEPTION_HANDLERS
from api.limits import RateLimitMiddleware, address_limits_first
from api.observability import metrics_endpoint, observe_requests, recording_codes, worker_stopped
from api.openapi_docs import OfflineSwagger, swagger_assets
from api.pages import configure_templates, negotiated_handlers, page_handlers, page_middleware
from api.pages.notice_texts import texts_in_every_language
from api.pages.op_pages import provide_operation
from api.security import make_jwt_auth
from api.settings import Settings
from api.strict_json import strict_json_body
from ledger.ports import Clock, SystemClock
from ledger.projections.client import AnyRedis, connect_redis

if TYPE_CHECKING:
    from ledger.services.container import Services

TEMPLATES = Path(__file__).parent / "templates"
REQUEST_BODY_BYTES_MAX = 2 * 1024 * 1024
SEALER_TASK, PROJECTOR_TASK = "greenledger-sealer", "greenledger-projector"
NOTICE_TASK, DELIVERY_TASK = "greenledger-notices", "greenledger-webhook"


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Litestar:
    """The web app for these settings; its services read the time from `clock` (the system's
    by default; tests pass their own)."""
    settings = settings or Settings.from_env()
    point_store_at(settings)
    jwt_auth = make_jwt_auth(settings)
    # The app's state, made here so that the services' provider can hold it (Litestar keeps
    # the object it is given, if not empty; checked below).
    state = State({"settings": settings})

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        redis = connect_redis(settings.redis_url, settings.redis_cluster)
        services = build_services(settings, redis, clock)
        await services.db.start()
        app.state.services, app.state.redis, app.state.jwt_auth = services, redis, jwt_auth
        app.state.settings = settings
        stop = asyncio.Event()
        tasks = background_tasks(services, stop) if settings.run_sealer else []
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await services.gradings.close()
            if redis is not None:
                await redis.aclose()
            await services.db.close()
            worker_stopped()

    app = Litestar(
        route_handlers=[
            AuthController,
            RegistryController,
            MembersController,
            LedgerController,
            NoticeController,
            EarningController,
            PhotoController,
            QueueController,
            CoordinationController,
            SpendingController,
            LeaderboardController,
            ChainController,
            ReceiptController,
            ReportController,
            ReinspectionController,
            InspectionReportController,
            VolunteerApplicationController,
            RotationController,
            audit,
            CodeController,
            health,
            live,
            ready,
            metrics_endpoint,
            swagger_assets(),
            *page_handlers(settings),
        ],
        dependencies={
            "services": Provide(services_in(state), sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "op": Provide(provide_operation, sync_to_thread=False),
            "report_period": Provide(provide_period, sync_to_thread=False),
            "asked_period": Provide(provide_asked_period, sync_to_thread=False),
        },
        exception_handlers=recording_codes(negotiated_handlers(EXCEPTION_HANDLERS)),
        before_request=strict_json_body,
        middleware=[
            RateLimitMiddleware(settings.rate_limit_per_minute, "caller"),
            *page_middleware(settings),
        ],
        on_app_init=[jwt_auth.on_app_init, address_limits_first(settings.rate_limit_per_minute)],
        lifespan=[lifespan],
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=configure_templates
        ),
        openapi_config=OpenAPIConfig(
            title="Green Account Ledger (绿账)",
            version="1",
            description="Points for garbage sorting and volunteer hours, on an append-only ledger.",
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin(), OfflineSwagger()],
        ),
        state=state,
        request_max_body_size=REQUEST_BODY_BYTES_MAX,
        response_cache_config=ResponseCacheConfig(),
        logging_config=LoggingConfig(configure_root_logger=False, log_exceptions="debug"),
    )
    assert app.state is state, "the services' provider reads this state"
    document_errors(app)
    observe_requests(app)
    return app


# Allocations (less deallocations) between two young-generation passes of the collector; 700
# by default. A request's objects (a 1,000-event batch holds tens of thousands until it
# answers) then mostly die before a pass, instead of being walked and promoted to older
# generations whose passes walk them again. Cycles wait a little longer to be freed.
GC_YOUNG_THRESHOLD = 20_000


def served_app(settings: Settings | None = None) -> Litestar:
    """The app `greenledger serve` runs, in each worker: `create_app()`'s, whose heap as it
    stands once started (the modules, the routes, the services) the garbage collector then
    leaves out of its passes (gc.freeze): it would otherwise walk those objects again and again
    for cycles they are not in; and whose collector passes less often (`GC_YOUNG_THRESHOLD`).
    Not in `create_app`: a frozen heap is never collected, and a process that makes app after
    app (the tests) would keep every one."""
    app = create_app(settings)
    app.on_startup.append(_tune_collector)
    return app


def _tune_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def background_tasks(services: Any, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """The sealer, the notices' projector, with Redis the boards' projector, and with a webhook
    the notices' delivery, until `stop`: in each API process by default, or alone in
    `greenledger work` (GREENLEDGER_BACKGROUND=off for the API processes)."""
    tasks = [
        asyncio.create_task(services.sealer.run(stop), name=SEALER_TASK),
        asyncio.create_task(services.notice_projector.run(stop), name=NOTICE_TASK),
    ]
    if services.projector is not None:
        tasks.append(asyncio.create_task(services.projector.run(stop), name=PROJECTOR_TASK))
    if services.deliverer is not None:
        tasks.append(asyncio.create_task(services.deliverer.run(stop), name=DELIVERY_TASK))
    return tasks


def build_services(
    settings: Settings, redis: AnyRedis | None, clock: Clock | None = None
) -> Services:
    """Every service for these settings (the web app's lifespan; the CLI builds the same)."""
    from ledger.services.container import Services  # after Piccolo knows the database
    from ledger.services.webhook import WebhookTarget

    webhook = None
    if settings.webhook_url:
        webhook = WebhookTarget(settings.webhook_url, settings.webhook_secret.encode())
    return Services.build(
        settings.keyring(),
        settings.base_url,
        clock=clock or SystemClock(),
        redis=redis,
        redis_prefix=settings.redis_prefix,
        webhook=webhook,
        notice_texts=texts_in_every_language,
        chain_keys=settings.chain_keys(),
        rotation_weeks_max=settings.rotation_weeks_max,
    )


def document_errors(app: Litestar) -> None:
    """Every JSON endpoint documents the one error shape it sends ({code, detail, …}), in place
    of Litestar's default 400 body, which this API never sends."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if route.path.startswith("/api/") and not handler.responses:
                handler.responses = ERROR_RESPONSES


def point_store_at(settings: Settings) -> None:
    """Piccolo finds its engine through piccolo_conf, which reads this variable once."""
    os.environ.setdefault("PICCOLO_CONF", "ledger.store.piccolo_conf")
    os.environ["GREENLEDGER_DATABASE_URL"] = settings.database_url
    os.environ["GREENLEDGER_REPLICA_URL"] = settings.replica_url or ""
    os.environ["GREENLEDGER_PGBOUNCER"] = "1" if settings.pgbouncer else ""
