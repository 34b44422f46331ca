"""Rate limits: token buckets, the rate syntax, the WPS defaults and the 429 reply."""

from __future__ import annotations

import asyncio

import pytest

import openroster.dialects.wps.routes  # noqa: F401  (registers every route)
from openroster.core.directory import Directory
from openroster.core.runtime.throttle import LocalRateLimiter, RateLimiter, parse_rates, rate_for
from openroster.dialects.wps.endpoint import ROUTES
from openroster.dialects.wps.errors import Code, WpsError
from openroster.dialects.wps.throttling import check, route_rates
from openroster.model.rate import Rate
from openroster.store import ratelimit
from openroster.store.ratelimit import StoreRateLimiter

KNOWN = [f"{r.method} {r.path}" for r in ROUTES]


def test_a_burst_then_the_steady_rate() -> None:
    limiter = LocalRateLimiter()
    rate = Rate(10)
    assert all(limiter.acquire("a", rate, now=100.0) == 0.0 for _ in range(10))
    wait = limiter.acquire("a", rate, now=100.0)
    assert wait == pytest.approx(0.1)
    assert limiter.acquire("a", rate, now=100.05) == pytest.approx(0.05)  # a refused call is not counted
    assert limiter.acquire("a", rate, now=100.1) == 0.0
    assert limiter.acquire("a", rate, now=100.1) > 0.0
    # After a quiet second the whole burst is back, no more.
    assert sum(limiter.acquire("a", rate, now=105.0) == 0.0 for _ in range(20)) == 10


def test_keys_are_independent() -> None:
    limiter = LocalRateLimiter()
    rate = Rate(2, per_seconds=60)
    assert limiter.acquire("app1 GET /x", rate, now=0) == limiter.acquire("app1 GET /x", rate, now=0) == 0
    assert limiter.acquire("app1 GET /x", rate, now=0) == pytest.approx(30.0)
    assert limiter.acquire("app2 GET /x", rate, now=0) == 0
    assert limiter.acquire("app1 GET /y", rate, now=0) == 0


def test_a_clock_moved_back_refills_nothing() -> None:
    limiter = LocalRateLimiter()
    rate = Rate(1)
    assert limiter.acquire("a", rate, now=50.0) == 0.0
    assert limiter.acquire("a", rate, now=10.0) > 0.0
    assert limiter.acquire("a", rate, now=11.0) == 0.0


def test_rate_syntax() -> None:
    rates = parse_rates(" GET  /v7/users=20, POST /v7/users/create=600/60s ,*=100,GET /v7/depts/root=off, ")
    assert rates == {
        "GET /v7/users": Rate(20),
        "POST /v7/users/create": Rate(600, 60.0),
        "*": Rate(100),
        "GET /v7/depts/root": None,
    }
    assert str(Rate(10)) == "10 calls per second" and str(Rate(5, 2)) == "5 calls per 2 seconds"
    assert rate_for(rates, "get", "/v7/users") == Rate(20)
    assert rate_for(rates, "GET", "/v7/other") == Rate(100)
    assert rate_for(rates, "GET", "/v7/depts/root") is None
    assert rate_for({}, "GET", "/v7/users") is None
    assert parse_rates("") == {}


@pytest.mark.parametrize(
    "spec", ["GET /v7/users", "=5", "GET /v7/users=x", "GET /v7/users=5/s", "users=5", "GET v7=5", "* =-1"]
)
def test_bad_rates_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rates(spec)


def test_wps_defaults_and_overrides() -> None:
    assert route_rates("", KNOWN) == {"GET /depts/root": Rate(10)}  # the platform's published figure
    rates = route_rates("GET /graph/v7/depts/root=3, GET /openapi/v7/users/{user_id}=1/5s, *=50", KNOWN)
    assert rates == {"GET /depts/root": Rate(3), "GET /users/{user_id}": Rate(1, 5.0), "*": Rate(50)}
    assert route_rates("GET /v7/depts/root=0", KNOWN) == {"GET /depts/root": None}
    with pytest.raises(ValueError, match="no such WPS endpoint"):
        route_rates("POST /v7/depts/root=3", KNOWN)
    with pytest.raises(ValueError, match="start with /v7/"):
        route_rates("GET /depts/root=3", KNOWN)


def test_a_throttled_call_gets_429_and_retry_after() -> None:
    limiter = LocalRateLimiter()
    rate = Rate(1, per_seconds=10)
    check(limiter, rate, client_id="app", endpoint="GET /v7/depts/root", now=0.0)
    with pytest.raises(WpsError) as info:
        check(limiter, rate, client_id="app", endpoint="GET /v7/depts/root", now=2.5)
    err = info.value
    assert err.code == Code.THROTTLED and err.code.http_status == 429
    assert err.headers == {"Retry-After": "8"}  # 7.5 s, rounded up
    assert "GET /v7/depts/root" in err.msg and "1 calls per 10 seconds per app" in err.msg
    response = err.response()
    assert response.status_code == 429 and response.headers["retry-after"] == "8"
    check(limiter, rate, client_id="other", endpoint="GET /v7/depts/root", now=2.5)  # per app


def _peek_counts_nothing(limiter: RateLimiter) -> None:
    rate = Rate(2, per_seconds=60)
    assert limiter.peek("k", rate, now=0.0) == 0.0  # an unknown key has its whole budget
    assert [limiter.peek("k", rate, now=0.0) for _ in range(5)] == [0.0] * 5
    assert limiter.acquire("k", rate, now=0.0) == limiter.acquire("k", rate, now=0.0) == 0.0
    assert limiter.peek("k", rate, now=0.0) == pytest.approx(30.0)
    assert limiter.peek("k", rate, now=15.0) == pytest.approx(15.0)
    assert limiter.acquire("k", rate, now=15.0) == pytest.approx(15.0)  # what peek said
    assert limiter.peek("k", rate, now=30.0) == 0.0
    assert limiter.peek("other", rate, now=30.0) == 0.0


def test_peek_answers_as_acquire_would_and_counts_nothing() -> None:
    _peek_counts_nothing(LocalRateLimiter())


def test_the_store_limiter_peeks_and_forgets_idle_buckets(directory: Directory) -> None:
    limiter = StoreRateLimiter(lambda: directory.store)
    _peek_counts_nothing(limiter)
    with directory.store.write() as tx:
        assert ratelimit.forget_idle(tx.conn, now=60.0) == 0  # "k" was touched at 15 s: not yet full
        assert ratelimit.forget_idle(tx.conn, now=76.0) == 1
    assert limiter.peek("k", Rate(2, per_seconds=60), now=76.0) == 0.0


def test_the_store_limiter_takes_its_token_inside_a_writers_job(directory: Directory) -> None:
    """As the pipeline admits a call: the token is taken in a savepoint of the job's group (the
    directory's ``writer()``), where a transaction of the store's own would wait for the group."""
    rate = Rate(2, per_seconds=60)
    limiter = StoreRateLimiter(lambda: directory.store, directory.writer)

    async def admit(limiter: StoreRateLimiter) -> float:
        return await directory.write(lambda _r: limiter.acquire("k", rate, now=0.0))

    assert [asyncio.run(admit(limiter)) for _ in range(3)] == [0.0, 0.0, pytest.approx(30.0)]
    assert limiter.peek("k", rate, now=0.0) == pytest.approx(30.0)  # the two tokens were committed
    with pytest.raises(RuntimeError, match="a write transaction of its own"):
        asyncio.run(admit(StoreRateLimiter(lambda: directory.store)))
