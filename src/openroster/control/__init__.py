"""The emulator's control plane under ``/_openroster/`` (docs/emulator.md).

:func:`install` mounts the control API on the server app; :func:`wrap` puts
the platform-call middleware (request ids, fault rules, the journal) around
the server's whole middleware stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from openroster.control.calls import CONTROL_PREFIX
from openroster.control.faults import FaultBook
from openroster.control.journal import Journal
from openroster.control.middleware import PlatformCalls
from openroster.control.plane import ControlPlane

#: Adds routes to the control app's admin router (the routes of a layer above the control plane).
RouteSet = Callable[[APIRouter], None]


def install(
    api: FastAPI, *, admin_token: str, journal_size: int, extra: Sequence[RouteSet] = ()
) -> ControlPlane:
    """Mount the control API on ``api`` (with the routes ``extra`` adds) and keep its state in
    ``api.state.control``."""
    from openroster.control.api import build

    plane = ControlPlane(
        admin_token=admin_token,
        journal=Journal(journal_size),
        faults=FaultBook(),
        server=api,
        routes=tuple(extra),
    )
    api.state.control = plane
    api.mount(CONTROL_PREFIX, build(plane), name="control")
    return plane


def wrap(app: ASGIApp, plane: ControlPlane) -> ASGIApp:
    """``app`` behind the platform-call middleware."""
    return PlatformCalls(
        app,
        journal=plane.journal,
        faults=plane.faults,
        app_of=plane.app_of,
        tenant_of=plane.tenant_of,
        clock=lambda: plane.directory.clock.now,
    )


__all__ = ["CONTROL_PREFIX", "ControlPlane", "install", "wrap"]
