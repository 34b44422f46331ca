"""The control plane's state: the admin token, the journal, the fault rules, and the server they watch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from openroster.control import calls
from openroster.control.faults import FaultBook
from openroster.control.journal import Journal
from openroster.core.directory import Directory, Reader

RouteSet = Callable[[APIRouter], None]


def route_group(
    tag: str, responses: dict[int | str, dict[str, Any]] | None = None
) -> Callable[[RouteSet], RouteSet]:
    """A set of control-plane routes under one OpenAPI tag, each with ``responses`` unless it
    names its own: the decorated function adds its routes to a router of their own, which is
    then added to the admin router it is given."""

    def group(add: RouteSet) -> RouteSet:
        def add_to(admin: APIRouter) -> None:
            r = APIRouter(tags=[tag], responses=responses)
            add(r)
            admin.include_router(r)

        add_to.__name__ = add.__name__
        add_to.__doc__ = add.__doc__
        return add_to

    return group


@dataclass(slots=True)
class ControlPlane:
    admin_token: str
    journal: Journal
    faults: FaultBook
    #: The server app, whose state holds the directory once the server has started.
    server: Any
    #: Route sets of the layers above the control plane, each adding routes to its admin router
    #: (the change-event routes: ``events/control_routes.py``).
    routes: tuple[RouteSet, ...] = ()

    @property
    def directory(self) -> Directory:
        d: Directory = self.server.state.directory
        return d

    def app_of(self, call: calls.RawCall) -> str | None:
        return calls.app_of(self.directory, call)

    def tenant_of(self, client_id: str | None) -> str | None:
        if client_id is None:
            return None
        with self.directory.reader() as r:
            return calls.tenant_of(r, client_id)

    def tenant_of_in(self, r: Reader) -> Callable[[str | None], str | None]:
        return lambda client_id: calls.tenant_of(r, client_id)


def plane_of(request: Request) -> ControlPlane:
    """The control plane of the app serving ``request``."""
    plane: ControlPlane = request.app.state.plane
    return plane


#: A route parameter that receives the control plane.
Plane = Annotated[ControlPlane, Depends(plane_of)]
