"""WPS rate limits: per app and endpoint, answered with HTTP 429, a 429xxxxx code and Retry-After.

The platform publishes one figure: ``GET /v7/depts/root`` allows 10 calls per
second per app. That is the default; ``openroster serve --rate-limit`` (the
``wps_rate_limits`` setting) adds or overrides rates in the syntax of
:func:`openroster.core.runtime.throttle.parse_rates`, with endpoints written as in the
docs (``GET /v7/users/{user_id}``; ``/openapi/v7`` and ``/graph/v7`` name the
same endpoint and share its budget).
"""

from __future__ import annotations

from collections.abc import Iterable

from openroster.core.runtime import throttle
from openroster.core.runtime.throttle import ANY_ENDPOINT, RateLimiter
from openroster.dialects.wps import PREFIXES
from openroster.dialects.wps.errors import throttled
from openroster.model.rate import Rate

#: The platform's published limits.
DEFAULT_RATES = "GET /v7/depts/root=10"


def _route_key(target: str) -> str:
    if target == ANY_ENDPOINT:
        return target
    method, _, path = target.partition(" ")
    for prefix in PREFIXES:
        if path.startswith(prefix + "/"):
            return f"{method} {path[len(prefix) :]}"
    raise ValueError(f"rate for {target!r}: WPS endpoints start with /v7/")


def route_rates(overrides: str, known: Iterable[str]) -> dict[str, Rate | None]:
    """The rates by ``"METHOD /route/path"`` (without ``/v7``): the defaults, then ``overrides``."""
    return throttle.route_rates(
        DEFAULT_RATES, overrides, known, key=_route_key, unknown=lambda _: "there is no such WPS endpoint"
    )


def check(limiter: RateLimiter, rate: Rate, *, client_id: str, endpoint: str, now: float) -> None:
    """Count one call of ``client_id`` to ``endpoint``; raise the 429 error when it does not fit."""
    wait = limiter.acquire(f"{client_id}\x1f{endpoint}", rate, now=now)
    if wait > 0.0:
        raise throttled(
            f"too many requests: {endpoint} allows {rate} per app; retry in {wait:.2f} s", retry_after=wait
        )
