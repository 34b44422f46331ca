"""The WPS 365 OpenAPI v7 dialect."""

from __future__ import annotations

from fastapi import FastAPI

from openroster.core.throttle import RateLimiter
from openroster.dialects.wps import attr_defs, attributes, contacts, depts, users  # noqa: F401  (they register routes)
from openroster.dialects.wps.endpoint import mount


def install(api: FastAPI, *, rate_limits: str = "", limiter: RateLimiter | None = None) -> None:
    mount(api, rate_limits=rate_limits, limiter=limiter)
