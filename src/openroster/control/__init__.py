"""The emulator's control plane under ``/_openroster/`` (docs/emulator.md).

:func:`install` mounts the control API on the server app; :func:`wrap` puts
the platform-call middleware (request ids, fault rules, the journal) around
the server's whole middleware stack; :func:`start` and :func:`stop` run its
background work (``shared_journal.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from openroster.control import calls
from openroster.control.calls import CONTROL_PREFIX, RawCall
from openroster.control.faults import FaultBook
from openroster.control.journal import Journal
from openroster.control.middleware import PlatformCalls
from openroster.control.plane import ControlPlane
from openroster.control.shared_journal import SharedJournal
from openroster.core.directory import Directory
from openroster.store import Store

#: Adds routes to the control app's admin router (the routes of a layer above the control plane).
RouteSet = Callable[[APIRouter], None]


def install(
    api: FastAPI, *, admin_token: str, journal_size: int, extra: Sequence[RouteSet] = ()
) -> ControlPlane:
    """Mount the control API on ``api`` (with the routes ``extra`` adds) and keep its state in
    ``api.state.control``."""
    from openroster.control.api import build

    def directory() -> Directory:
        d: Directory = api.state["directory"]  # by key: no AttributeError made and dropped
        return d

    def store() -> Store:
        return directory().store

    def identify(call: RawCall) -> str | None:
        return calls.app_of(directory(), call)

    plane = ControlPlane(
        admin_token=admin_token,
        journal=SharedJournal(Journal(journal_size), store, identify, lambda: directory().writes),
        faults=FaultBook(store=store),
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
        journal=plane.journal.local,
        faults=plane.faults,
        sync=plane.sync,
        app_of=plane.app_of,
        tenant_of=plane.tenant_of,
        clock=lambda: plane.directory.clock.now,
    )


def start(plane: ControlPlane) -> None:
    """Start the control plane's background work on the running loop (moving the journal into
    the store); the server's lifespan calls it, and :func:`stop` at the end."""
    plane.journal.start()


async def stop(plane: ControlPlane) -> None:
    await plane.journal.stop()


__all__ = ["CONTROL_PREFIX", "ControlPlane", "install", "start", "stop", "wrap"]
