"""The web console at ``/console/``: people, departments and the emulator's state in a browser.

Server-rendered HTML (Jinja2 templates in ``templates/``, one stylesheet in ``static/``, no
script yet), a face over the same core services as the APIs. docs/console.md tells how to use
it and why it is built this way; :func:`install` mounts it on the server app.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from openroster.console.session import SecurityHeaders
from openroster.control.calls import CONSOLE_PREFIX
from openroster.control.plane import ControlPlane

#: Every method: ``/`` answers as it did before the console for anything but a browser's GET.
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def install(api: FastAPI, plane: ControlPlane) -> None:
    """Mount the console at ``/console`` and send a browser asking for ``/`` there."""
    from openroster.console.app import build

    api.mount(CONSOLE_PREFIX, SecurityHeaders(build(plane)), name="console")

    @api.api_route("/", methods=_ALL_METHODS, include_in_schema=False)
    async def root(request: Request) -> Response:
        """A browser's page load (``Accept: text/html``) goes to the console; API clients get the 404
        they always got."""
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(CONSOLE_PREFIX + "/", status_code=307)
        raise HTTPException(404, "Not Found")


__all__ = ["CONSOLE_PREFIX", "install"]
