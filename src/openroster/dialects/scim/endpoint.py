"""The SCIM routes, what their handlers get (``Call``) and what they return (``Reply``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

import orjson
from starlette.responses import Response

from openroster.dialects import base
from openroster.dialects.scim import MEDIA_TYPE, PREFIX, schema


class Call(base.AppCall):
    """What a handler gets: the SCIM app (its tenant is the SCIM tenant) and an open read transaction."""

    __slots__ = ()

    @property
    def base(self) -> str:
        """The absolute URL of ``/scim/v2`` as the client reached it (for ``meta.location``)."""
        return str(self.request.base_url).rstrip("/") + PREFIX

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's result: the status, the resource (None: no body), its ``Location`` and ``ETag``."""

    status: int
    body: Any = None
    location: str | None = None
    etag: str | None = None

    def response(self) -> Response:
        headers = {}
        if self.location is not None:
            headers["Location"] = self.location
        if self.etag is not None:
            headers["ETag"] = self.etag
        if self.body is None:
            return Response(status_code=self.status, headers=headers)
        return Response(
            orjson.dumps(self.body), status_code=self.status, media_type=MEDIA_TYPE, headers=headers
        )


Handler = Callable[[Call, Any], Reply]


@dataclass(frozen=True, slots=True)
class Route(base.Route):
    """A SCIM route: the app needs the ``scim`` scope (every route's one permission)."""


ROUTES: list[Route] = []


def route(
    method: str, path: str, *, summary: str, query: tuple[str, ...] = (), writes: bool = False
) -> Callable[[Handler], Handler]:
    """Register a handler of ``method path`` (below ``/scim/v2``); ``writes``: it runs on the writers."""

    def register(fn: Handler) -> Handler:
        @wraps(fn)
        def in_tenant(call: Call, body: Any) -> Reply:  # the tenant's custom attributes are its schema's
            with schema.custom_scope(call.reader.definitions(call.tenant_id)):
                return fn(call, body)

        ROUTES.append(Route(method, path, in_tenant, ("scim",), None, summary, query, writes))
        return fn

    return register
