"""``/v1.0`` rate limits: per app and API, answered with 403 ``QpsLimitForAppkeyAndApi``.

The platform allows 20 calls per second per app to each API (the protocol file). That is the default
for every ``/v1.0`` route; ``openroster serve --dingtalk-v1-rate-limit`` (the
``dingtalk_v1_rate_limits`` setting) adds or overrides rates in the syntax of
:func:`openroster.core.runtime.throttle.parse_rates`, with the paths as the SDK calls them
(``GET /v1.0/hrm/dismission/reasons=5``, ``*=off``). The buckets are the server's one rate
limiter's (kept in the store: one budget per app for every process), on the directory's clock, so a
test that sets the control plane's clock sees the budget refill when it says.
"""

from __future__ import annotations

from collections.abc import Iterable

from openroster.core.runtime import throttle
from openroster.core.runtime.throttle import RateLimiter
from openroster.dialects.dingtalk_v1 import PREFIX
from openroster.dialects.dingtalk_v1.errors import THROTTLED, V1Error
from openroster.model.rate import Rate

#: The platform's limit: 20 calls per second per app and API.
DEFAULT_RATES = "*=20"


def _unknown(target: str) -> str:
    path = target.partition(" ")[2]
    return "no such /v1.0 call" if path.startswith(PREFIX) else f"/v1.0 paths start with {PREFIX}"


def route_rates(overrides: str, known: Iterable[str]) -> dict[str, Rate | None]:
    """The rates by ``"METHOD /v1.0/path"``: the default, then ``overrides`` (ValueError when one
    names no ``/v1.0`` route)."""
    return throttle.route_rates(DEFAULT_RATES, overrides, known, unknown=_unknown)


def check(limiter: RateLimiter, rate: Rate, *, client_id: str, endpoint: str, now: float) -> None:
    """Count one call of ``client_id`` to ``endpoint``; raise the 403 refusal when it does not fit."""
    wait = limiter.acquire(f"dingtalk_v1\x1f{client_id}\x1f{endpoint}", rate, now=now)
    if wait > 0.0:
        raise V1Error(THROTTLED, f"{endpoint} allows {rate} per app; retry in {wait:.2f} s")
