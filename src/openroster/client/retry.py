"""When to retry a call, and how long to wait first.

Throttling (HTTP 429, WPS ``429xxxxx``, DingTalk ``90002``/``90005``/``90018``/``-1``)
is retried for every call: the platform refused it before doing anything.
Other transient failures (HTTP 5xx, a connection that broke after the request
was sent, a read timeout) are retried only for calls that are safe to repeat
(reads, and writes that set a value); a write that creates something is retried
only when the request surely never arrived (connection refused, connect timeout)
or the server answered 503. Waits grow exponentially with full jitter, and a
``Retry-After`` header is honoured. Every call has a bounded budget: at most
``max_retries`` retries and at most ``max_wait`` seconds of waiting in total.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from openroster.client.errors import ApiError, ServerError, ThrottledError

#: Failures after which the request cannot have reached the server.
_NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a client retries. ``RetryPolicy(max_retries=0)`` turns retries off."""

    #: Retries after the first attempt.
    max_retries: int = 4
    #: First backoff, in seconds; doubles with each retry.
    backoff: float = 0.5
    #: Largest single wait, in seconds (also the largest ``Retry-After`` honoured).
    max_backoff: float = 20.0
    #: Total seconds a call may spend waiting between attempts.
    max_wait: float = 60.0

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform in ``[0, min(max_backoff, backoff * 2**attempt)]``."""
        return random.uniform(0.0, min(self.max_backoff, self.backoff * (2**attempt)))

    def delay_for_error(
        self, exc: ApiError, *, attempt: int, waited: float, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying after ``exc``, or ``None`` to give up."""
        if isinstance(exc, ThrottledError):
            pass
        elif isinstance(exc, ServerError):
            if not (idempotent or exc.http_status == 503):
                return None
        else:
            return None
        if exc.retry_after is not None:
            if exc.retry_after > self.max_backoff:
                return None
            # Never earlier than asked; a little jitter so callers do not return in lockstep.
            delay = exc.retry_after + random.uniform(0.0, min(1.0, 0.1 * exc.retry_after + 0.05))
        else:
            delay = self.backoff_delay(attempt)
        return self._within_budget(delay, attempt=attempt, waited=waited)

    def delay_for_transport(
        self, exc: httpx.TransportError, *, attempt: int, waited: float, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying after a connection failure, or ``None`` to give up."""
        if not (idempotent or isinstance(exc, _NOT_SENT)):
            return None
        return self._within_budget(self.backoff_delay(attempt), attempt=attempt, waited=waited)

    def _within_budget(self, delay: float, *, attempt: int, waited: float) -> float | None:
        if attempt >= self.max_retries or waited + delay > self.max_wait:
            return None
        return delay


NO_RETRIES = RetryPolicy(max_retries=0)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
