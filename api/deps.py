"""Dependencies handed to handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from api.dates import parse_period
from api.params import FromDay, OptionalDay, OptionalFromDay, OptionalId, QueryId, ToDay
from ledger.domain.access import Principal
from ledger.services.container import Services

# Explicit markers: Litestar 2.23+ deprecates inferring dependencies from parameter names.
ServicesDep = NamedDependency[Services]
PrincipalDep = NamedDependency[Principal]


class Period(NamedTuple):
    """A report's community and local days: `?community_id=…&from=…&to=…`, all three asked.
    A tuple, so that `report(*period)` reads as the services take it."""

    community_id: int
    first: date
    last: date


@dataclass(frozen=True, slots=True)
class AskedPeriod:
    """What a staff page was asked for, each part optional (api/pages/filters.py fills in a
    community and days)."""

    community_id: int | None
    from_: str | None
    to: str | None


def provide_period(
    principal: PrincipalDep, community_id: QueryId, from_: FromDay, to: ToDay
) -> Period:
    """`principal` only orders this after it, as in `provide_principal`: on guarded routes."""
    del principal
    return Period(community_id, *parse_period(from_, to))


def provide_asked_period(
    principal: PrincipalDep,
    community_id: OptionalId = None,
    from_: OptionalFromDay = None,
    to: OptionalDay = None,
) -> AskedPeriod:
    """`principal` only orders this after it, as in `provide_principal`: on guarded routes."""
    del principal
    return AskedPeriod(community_id, from_, to)


PeriodDep = NamedDependency[Period]
AskedPeriodDep = NamedDependency[AskedPeriod]


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


def services_in(state: State) -> Callable[[], Services]:
    """`provide_services` for the app whose state is `state`, without parameters: Litestar
    builds and validates a provider's arguments on every request (a State object for
    `state`), and for this one nothing. It reads the state on each call, as before."""

    def provide_app_services() -> Services:
        return provide_services(state)

    return provide_app_services


def provide_principal(request: Request[Any, Any, Any], services: ServicesDep) -> Principal:
    """`services` is not used: it puts this provider after `provide_services` in Litestar's
    dependency order. Two independent dependencies are resolved concurrently, in an anyio
    task group (two new tasks per request); one after the other they are plain awaits."""
    del services
    principal = request.user
    assert isinstance(principal, Principal), "guards run before handlers that need a principal"
    return principal
