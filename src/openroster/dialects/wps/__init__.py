"""The WPS 365 OpenAPI v7 dialect.

The package itself imports nothing heavy, so the SDK can use ``signing`` without
loading the server; :func:`install` registers the routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from openroster.core.runtime.throttle import RateLimiter


def install(api: FastAPI, *, rate_limits: str = "", limiter: RateLimiter | None = None) -> None:
    import openroster.dialects.wps.routes  # noqa: F401  (registers every route)
    from openroster.dialects.wps.endpoint import mount

    mount(api, rate_limits=rate_limits, limiter=limiter)
