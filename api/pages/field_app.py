"""The inspector's installable, offline-first app (issue 14 #1, #2): a service worker at the
root, a web app manifest, the in-app scanner and the grading shell the worker caches.

Online, every page still comes from the server. The worker keeps copies of the inspector's
pages (api/static/app.js refreshes them while online and signed in); offline, any
`/q/<token>` is answered with `/app/grade`, the grading form with the points of the
inspector's compounds, which reads the card's token from its own URL. Grades then wait in the
phone's queue (api/static/outbox.js) until `POST /api/v1/events:batch` answers them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Response, get

from api.deps import PrincipalDep, ServicesDep
from api.pages.messages import REASON_CODES
from api.pages.web import CONTENT_SECURITY_POLICY, render
from api.security import requires
from ledger.domain.access import Role
from ledger.domain.rules import Grade, Stream
from ledger.services import views

STATIC = Path(__file__).resolve().parents[1] / "static"
POINTS_PER_COMPOUND_MAX = 100


def _static_file(
    name: str, media_type: str, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response((STATIC / name).read_bytes(), media_type=media_type, headers=headers)


@get("/sw.js", opt={"public": True}, include_in_schema=False)
async def service_worker() -> Response[bytes]:
    """At the root, so that its scope is the whole site; never cached by HTTP, so a new
    version is picked up on the next visit."""
    headers = {
        "Cache-Control": "no-cache",
        "Service-Worker-Allowed": "/",
        # A worker's own policy comes from its script's response: its fetches stay on this site.
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    }
    return _static_file("sw.js", "text/javascript", headers)


@get("/manifest.webmanifest", opt={"public": True}, include_in_schema=False)
async def manifest() -> Response[bytes]:
    return _static_file("manifest.webmanifest", "application/manifest+json")


@get("/app/scan", guards=[requires(Role.INSPECTOR)], include_in_schema=False)
async def scanner(principal: PrincipalDep) -> Response[Any]:
    """The in-app scanner: the camera, card after card; typing the code is the fallback."""
    return render("scanner.html", me=principal)


@get("/app/grade", guards=[requires(Role.INSPECTOR)], include_in_schema=False)
async def grading_shell(principal: PrincipalDep, services: ServicesDep) -> Response[Any]:
    """The grading form the worker serves for any `/q/<token>` opened offline."""
    compound_ids = sorted(principal.compound_ids)
    names = await views.compound_names(compound_ids)
    points: list[dict[str, Any]] = []
    for compound_id in compound_ids:
        page = await services.registry.page(
            "points", None, POINTS_PER_COMPOUND_MAX, {"compound": compound_id}
        )
        points += [point | {"compound_name": names.get(compound_id, "")} for point in page.items]
    return render(
        "grade.html",
        me=principal,
        offline_shell=True,
        token="",
        event_id="",
        subject={"name": "", "compound": ""},
        points=points,
        streams=[s.value for s in Stream],
        grades=[g.value for g in Grade],
        reasons=REASON_CODES,
        previous=[],
    )


FIELD_APP_HANDLERS = [service_worker, manifest, scanner, grading_shell]
