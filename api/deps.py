"""Dependencies handed to handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from ledger.domain.access import Principal
from ledger.services.container import Services

# Explicit markers: Litestar 2.23+ deprecates inferring dependencies from parameter names.
ServicesDep = NamedDependency[Services]
PrincipalDep = NamedDependency[Principal]


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
