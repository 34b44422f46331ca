"""The control plane's state: the admin token, the journal, the fault rules, and the server they watch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from openroster.control import calls
from openroster.control.faults import FaultBook
from openroster.control.journal import Journal
from openroster.core.directory import Directory, Reader


@dataclass(slots=True)
class ControlPlane:
    admin_token: str
    journal: Journal
    faults: FaultBook
    #: The server app, whose state holds the directory once the server has started.
    server: Any
    #: Route sets of the layers above the control plane, each adding routes to its admin router
    #: (the change-event routes: ``events/control_routes.py``).
    routes: tuple[Callable[[Any], None], ...] = ()

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
