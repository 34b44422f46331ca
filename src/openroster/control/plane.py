"""The control plane's state: the admin token, the journal, the fault rules, and the server they watch.

The journal, the fault rules and the clock's offset live in the store, shared by every server
process on it (``store/controlplane.py``). Each process keeps a copy of the rules and the clock,
which it brings up to date from the change log: every platform call first syncs the process
with the store (``DirectoryCache.sync``, the poll each read makes anyway), so a rule added or a
clock moved through any process holds for the next call, whichever process answers it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from openroster.control import calls
from openroster.control.faults import FaultBook
from openroster.control.shared_journal import SharedJournal
from openroster.core.directory import Directory, Reader
from openroster.dialects import arrival
from openroster.store import ReadTx
from openroster.store.controlplane import CLOCK, CONTROL_KIND, FAULTS

log = logging.getLogger("openroster.control")

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
    journal: SharedJournal
    faults: FaultBook
    #: The server app, whose state holds the directory once the server has started.
    server: Any
    #: Route sets of the layers above the control plane, each adding routes to its admin router
    #: (the change-event routes: ``events/control_routes.py``).
    routes: tuple[RouteSet, ...] = ()
    _attached: Directory | None = field(default=None, init=False, repr=False)

    @property
    def directory(self) -> Directory:
        d: Directory = self.server.state["directory"]  # by key: no AttributeError made and dropped
        if self._attached is not d:
            self._attach(d)
        return d

    def _attach(self, d: Directory) -> None:
        """Follow the shared state through ``d``'s change log, starting from what is stored now."""
        self._attached = d
        d.cache.watch(CONTROL_KIND, self._follow)
        with d.store.read() as tx:
            self._follow(tx, None)

    def _follow(self, tx: ReadTx, key: str | None) -> None:
        """A change-log watcher: bring this process's copy of the shared state up to date."""
        d = self.server.state["directory"]
        if key in (None, CLOCK):
            d.clock.set_offset(tx.control.clock_offset())
        if key in (None, FAULTS):
            self.faults.load(tx.control.faults())
        self.journal.learn(tx, key)

    def sync(self, scope: Any = None) -> None:
        """Bring the shared state up to date before a call (``scope``: its ASGI scope) or a
        control request: one poll of the change counter, shared with the call's own reads."""
        fresh_after: float | None = None
        if scope is not None:
            # Served without ``serve``'s protocol (in-process), the call arrived now at the latest;
            # stamped, its own reads share this poll.
            fresh_after = scope.setdefault(arrival.ARRIVED_SCOPE_KEY, time.monotonic())
        try:
            with self.directory.reader(fresh_after=fresh_after):
                pass
        except Exception:  # the store is down: the call's own read will answer that
            log.debug("could not sync the control plane's state", exc_info=True)

    def set_clock_offset(self, seconds: float) -> None:
        """Move every process's clock: stored, then logged so the others follow."""
        d = self.directory
        checked = d.clock.checked_offset(seconds)
        with d.store.write() as tx:
            tx.control.set_clock_offset(checked)
            tx.changed("", CONTROL_KIND, CLOCK)
        d.clock.set_offset(checked)

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
