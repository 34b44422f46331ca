"""Rate limits: how many calls a caller may make to one endpoint per period.

The dialects ask a :class:`RateLimiter` before running a call; the limiter
answers with the seconds the caller must wait (``0.0``: go ahead). The
interface is small on purpose so that a limiter shared by several server
processes (e.g. one kept in PostgreSQL) can replace :class:`LocalRateLimiter`,
which counts in this process only: with ``--workers N`` each process allows
the full rate.

Rates are written ``"METHOD /path=N"`` (N calls per second) or
``"METHOD /path=N/Ss"`` (N calls per S seconds); ``"*=N"`` applies to every
endpoint without its own rate; ``N = 0`` (or ``off``) switches the limit off.
Several rates are separated by commas.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol, TypeVar

from openroster.model.errors import AuthError, Throttled
from openroster.model.rate import Rate

T = TypeVar("T")

#: The key of the rate that applies to every endpoint without one of its own.
ANY_ENDPOINT = "*"
#: Buckets kept before idle (full) ones are forgotten.
_MAX_BUCKETS = 50_000


class RateLimiter(Protocol):
    """Decides whether one more call under ``key`` fits in ``rate``."""

    def acquire(self, key: str, rate: Rate, *, now: float) -> float:
        """Count one call and return 0.0, or return the seconds until one would fit (not counted)."""
        ...

    def peek(self, key: str, rate: Rate, *, now: float) -> float:
        """What :meth:`acquire` would answer now, counting nothing."""
        ...


class LocalRateLimiter:
    """A token bucket per key, in this process's memory.

    Each bucket holds up to ``rate.calls`` tokens and refills at
    ``rate.calls / rate.per_seconds`` tokens per second; a call takes one.
    Time comes from the caller (the directory's clock); a clock moved
    backwards refills nothing rather than going negative.
    """

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, rate: Rate, *, now: float) -> float:
        with self._lock:
            tokens = self._tokens(key, rate, now)
            wait = rate.wait(tokens)
            if wait == 0.0:
                if len(self._buckets) >= _MAX_BUCKETS and key not in self._buckets:
                    self._forget_idle(now)
                tokens = max(0.0, tokens - 1.0)
            self._buckets[key] = (tokens, now)
            return wait

    def peek(self, key: str, rate: Rate, *, now: float) -> float:
        with self._lock:
            return rate.wait(self._tokens(key, rate, now))

    def _tokens(self, key: str, rate: Rate, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(rate.calls), now))
        return rate.refilled(tokens, since=last, now=now)

    def _forget_idle(self, now: float) -> None:
        # Buckets untouched for long enough to be full again carry no state.
        horizon = now - 3600.0
        self._buckets = {k: v for k, v in self._buckets.items() if v[1] > horizon}


class CredentialThrottle:
    """Failed credential attempts at the token endpoints, per client id and per source address.

    Only failures count (a wrong secret, an unknown client id): a client that holds its secret is
    never slowed. Once a budget is spent, attempts under it are refused before their secret is
    checked, so a right guess made while blocked fails too. Each budget is a :class:`Rate` of
    failures (``None``: no limit); the buckets refill as the rate says, so after a budget's whole
    period it is full again.
    """

    def __init__(self, limiter: RateLimiter, *, per_client: Rate | None, per_address: Rate | None) -> None:
        self._limiter = limiter
        self._per_client = per_client
        self._per_address = per_address
        #: The turn each client id and address takes for an awaited attempt (gone when unused).
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def attempt(self, check: Callable[[], T], *, client_id: str, address: str, now: float) -> T:
        """``check()``'s answer, unless a budget is spent (:class:`Throttled`); a failed check
        (``AuthError`` of reason ``invalid_client``) is counted against both budgets."""
        budgets = self._open(client_id, address, now)
        try:
            return check()
        except AuthError as exc:
            self._failed(exc, budgets, now)
            raise

    async def attempt_async(
        self,
        run: Callable[[Callable[[Callable[[], T]], T | AuthError]], Awaitable[T | AuthError]],
        *,
        client_id: str,
        address: str,
        now: float,
    ) -> T:
        """:meth:`attempt` of a check that is awaited: one that writes runs as a job on the store's
        writers. ``run(counted)`` runs ``counted(check)`` in that job: a failed check is counted
        there, in the same job (so the count takes no write of its own on the event loop), and
        handed back instead of raised, so that the job's count commits; it is raised here.
        The attempts of one client id, or from one address, take turns, as :meth:`attempt`'s do on
        the event loop: each reads the budgets after the one before it was counted, so a burst of
        wrong secrets sent at once gets no further than the budget."""
        keys = sorted({f"client\x1f{client_id}", f"address\x1f{address}"})
        async with contextlib.AsyncExitStack() as turns:
            for key in keys:
                await turns.enter_async_context(self._turn(key))
            budgets = self._open(client_id, address, now)

            def counted(check: Callable[[], T]) -> T | AuthError:
                try:
                    return check()
                except AuthError as exc:
                    self._failed(exc, budgets, now)
                    return exc

            outcome = await run(counted)
            if isinstance(outcome, AuthError):
                raise outcome
            return outcome

    def _turn(self, key: str) -> asyncio.Lock:
        lock = self._turns.get(key)
        if lock is None:
            lock = self._turns[key] = asyncio.Lock()
        return lock

    def _open(self, client_id: str, address: str, now: float) -> list[tuple[str, Rate]]:
        """The budgets an attempt counts against; :class:`Throttled` when one of them is spent."""
        budgets = [
            (f"credentials\x1f{what}\x1f{value}", rate, label)
            for what, value, rate, label in (
                ("client", client_id, self._per_client, f"client_id {client_id!r}"),
                ("address", address, self._per_address, f"address {address}"),
            )
            if rate is not None
        ]
        for key, rate, label in budgets:
            wait = self._limiter.peek(key, rate, now=now)
            if wait > 0.0:
                raise Throttled(
                    f"too many failed attempts for {label}: {rate.calls} failures are allowed per "
                    f"{rate.per_seconds:g} s; retry in {math.ceil(wait)} s",
                    retry_after=wait,
                )
        return [(key, rate) for key, rate, _ in budgets]

    def _failed(self, exc: AuthError, budgets: list[tuple[str, Rate]], now: float) -> None:
        if exc.reason == "invalid_client":
            for key, rate in budgets:
                self._limiter.acquire(key, rate, now=now)


_RATE = re.compile(r"^(\d+)(?:/(\d+(?:\.\d+)?)s)?$")


def parse_rates(spec: str) -> dict[str, Rate | None]:
    """``{"METHOD /path" or "*": Rate, or None for "no limit"}`` from a rate spec (see the module doc)."""
    out: dict[str, Rate | None] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        target, sep, value = item.rpartition("=")
        target = " ".join(target.split())
        value = value.strip().lower()
        if not sep or not target:
            raise ValueError(f"rate {item!r} must look like 'GET /v7/depts/root=10' or '*=100'")
        if target != ANY_ENDPOINT:
            method, _, path = target.partition(" ")
            if not method.isalpha() or not path.startswith("/"):
                raise ValueError(f"rate {item!r}: the endpoint must be 'METHOD /path' or '*'")
            target = f"{method.upper()} {path}"
        if value in ("0", "off"):
            out[target] = None
            continue
        m = _RATE.match(value)
        if m is None:
            raise ValueError(f"rate {item!r}: the rate must be N (per second) or N/Ss, e.g. 10 or 600/60s")
        out[target] = Rate(int(m.group(1)), float(m.group(2) or 1))
    return out


def rate_for(rates: Mapping[str, Rate | None], method: str, path: str) -> Rate | None:
    """The rate for ``method path``: its own entry, else the ``*`` entry, else none."""
    key = f"{method.upper()} {path}"
    if key in rates:
        return rates[key]
    return rates.get(ANY_ENDPOINT)


def per_route(
    routes: Iterable[tuple[str, str]],
    rates: Mapping[str, Rate | None],
    make: Callable[[Rate, str, str], T],
) -> dict[tuple[str, str], T]:
    """``make(rate, method, path)`` for each ``(method, path)`` of ``routes`` that ``rates`` limits
    (:func:`rate_for`), by ``(method, path)``: a dialect's admissions."""
    out: dict[tuple[str, str], T] = {}
    for method, path in routes:
        if (rate := rate_for(rates, method, path)) is not None:
            out[(method, path)] = make(rate, method, path)
    return out


def route_rates(
    defaults: str,
    overrides: str,
    known: Iterable[str],
    *,
    unknown: Callable[[str], str],
    key: Callable[[str], str] = lambda target: target,
) -> dict[str, Rate | None]:
    """A dialect's rates by route (``"METHOD /path"`` as ``key`` turns a target into): its
    ``defaults``, then ``overrides``. A target of ``overrides`` that names none of ``known`` (nor
    ``*``) raises ValueError, ``rate for <target>: <unknown(target)>``."""
    known_keys = set(known)
    rates = {key(target): rate for target, rate in parse_rates(defaults).items()}
    for target, rate in parse_rates(overrides).items():
        route = key(target)
        if route != ANY_ENDPOINT and route not in known_keys:
            raise ValueError(f"rate for {target!r}: {unknown(target)}")
        rates[route] = rate
    return rates
