"""A token endpoint's check that writes (dialects/base.py ``credential_write``): it runs as a job on
the store's writers, not on the event loop, under the same budgets of failed attempts as every
credential check (core/runtime/throttle.py), and a failed one writes nothing (both backends)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from openroster.core.directory import Directory
from openroster.core.runtime.throttle import CredentialThrottle, LocalRateLimiter
from openroster.core.tenancy import tenants
from openroster.dialects.base import credential_write
from openroster.model.errors import AuthError, Throttled
from openroster.model.rate import Rate
from openroster.store.ratelimit import StoreRateLimiter


@pytest.fixture
def request_to(directory: Directory) -> Iterator[Request]:
    """A request from 10.0.0.1 to a server holding ``directory``, one failure allowed a minute per client."""
    throttle = CredentialThrottle(LocalRateLimiter(), per_client=Rate(1, 60.0), per_address=None)
    app = SimpleNamespace(state=SimpleNamespace(directory=directory, credential_throttle=throttle))
    yield Request({"type": "http", "app": app, "client": ("10.0.0.1", 40000), "headers": []})


def refused_secret(calls: list[str]) -> str:
    """A check that finds the secret wrong (noted in ``calls``)."""
    calls.append("checked")
    raise AuthError("client_id or client_secret is wrong", reason="invalid_client", field="client_id")


def test_the_check_runs_on_a_writer_thread_and_its_write_commits(
    directory: Directory, request_to: Request
) -> None:
    ran_on: list[str] = []

    def issue() -> str:
        ran_on.append(threading.current_thread().name)
        tenants.create(directory, tenant_id="issued", name="Issued")
        return "token"

    async def call() -> tuple[str, str]:
        return await credential_write(request_to, issue, client_id="app"), threading.current_thread().name

    answer, loop_thread = asyncio.run(call())
    assert answer == "token"
    assert ran_on and ran_on[0] != loop_thread  # not on the event loop's thread
    assert [t.id for t in tenants.list_all(directory)] == ["issued"]


def test_a_failed_check_writes_nothing_counts_and_the_next_attempt_is_refused_unchecked(
    directory: Directory, request_to: Request
) -> None:
    calls: list[str] = []

    def wrong_secret() -> str:
        tenants.create(directory, tenant_id="half-done", name="Half")
        return refused_secret(calls)

    with pytest.raises(AuthError):
        asyncio.run(credential_write(request_to, wrong_secret, client_id="app"))
    assert tenants.list_all(directory) == []  # its job's write was undone
    with pytest.raises(Throttled) as refused:
        asyncio.run(credential_write(request_to, wrong_secret, client_id="app"))
    assert "client_id 'app'" in refused.value.message
    assert "1 failures are allowed per 60 s" in refused.value.message
    assert calls == ["checked"]  # the second attempt never reached the check


def test_wrong_secrets_sent_at_once_get_no_further_than_the_budget(
    directory: Directory, request_to: Request
) -> None:
    checked: list[str] = []

    async def burst() -> list[BaseException | str]:
        attempts = [
            credential_write(request_to, lambda: refused_secret(checked), client_id="app") for _ in range(5)
        ]
        return list(await asyncio.gather(*attempts, return_exceptions=True))

    answers = asyncio.run(burst())
    assert [type(a) for a in answers] == [AuthError, Throttled, Throttled, Throttled, Throttled]
    assert checked == ["checked"]  # one failure allowed: only the first reached the check


def test_a_failure_is_counted_in_the_checks_own_job_in_the_store(directory: Directory) -> None:
    """The count of a failed attempt is written by the check's job on a writer thread (a savepoint of
    its group), not by a write of its own on the event loop afterwards; it survives the check's
    failure, and the check's own writes do not."""
    counted_on: list[str] = []
    store_limiter = StoreRateLimiter(lambda: directory.store, directory.writer)

    class Watched:
        def acquire(self, key: str, rate: Rate, *, now: float) -> float:
            counted_on.append(threading.current_thread().name)
            return store_limiter.acquire(key, rate, now=now)

        def peek(self, key: str, rate: Rate, *, now: float) -> float:
            return store_limiter.peek(key, rate, now=now)

    throttle = CredentialThrottle(Watched(), per_client=Rate(1, 60.0), per_address=None)
    app = SimpleNamespace(state=SimpleNamespace(directory=directory, credential_throttle=throttle))
    request = Request({"type": "http", "app": app, "client": ("10.0.0.1", 40000), "headers": []})
    calls: list[str] = []

    def wrong_secret() -> str:
        tenants.create(directory, tenant_id="half-done", name="Half")
        return refused_secret(calls)

    async def attempt() -> str:
        loop_thread = threading.current_thread().name
        with pytest.raises(AuthError):
            await credential_write(request, wrong_secret, client_id="app")
        return loop_thread

    loop_thread = asyncio.run(attempt())
    assert len(counted_on) == 1 and counted_on[0] != loop_thread  # counted in the job
    assert tenants.list_all(directory) == []  # the check's write undone, its count kept:
    with pytest.raises(Throttled):
        asyncio.run(credential_write(request, wrong_secret, client_id="app"))
    assert calls == ["checked"]
