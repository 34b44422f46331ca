"""Hostile input: every platform operation of both dialects, fuzzed from the server's own OpenAPI document.

schemathesis reads ``/openapi.json`` from a running ``openroster serve`` and
generates requests for each operation: valid ones (positive mode, which reach
the handlers and the store) and invalid ones (negative mode: wrong types,
missing fields, out-of-range values). The calls carry a real credential (a
bearer token of an app with every scope, a DingTalk access token), so they get
past authentication and exercise parsing, the core's rules and the store. Each
reply must follow :mod:`reliability.replies` (no 5xx, the dialect's envelope,
no stack trace or SQL), and the server log must show no unhandled error.

Runs on both backends: PostgreSQL refuses some strings SQLite takes (a NUL
character, for one). ``OPENROSTER_FUZZ`` picks the profile
(:mod:`reliability.fuzzing`): ``ci``, the default, is derandomized at 15 examples per
operation and mode (the module stays near a minute per backend on a 2-core machine);
``deep`` is random and runs 300.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from schemathesis import GenerationMode

from openroster.config import Settings
from openroster.server.app import create_app
from reliability.fuzzing import fuzz_settings
from reliability.replies import check_reply, is_dingtalk, server_log_problems
from reliability.servers import WorldServer, backend_params, world_server

pytestmark = pytest.mark.slow


def platform_operations() -> list[tuple[str, str, bool]]:
    """``(method, path, takes_input)`` of every platform operation in the server's OpenAPI document."""
    doc = create_app(Settings(data_dir=Path("unused"))).openapi()
    return [
        (method.upper(), path, bool(op.get("parameters") or op.get("requestBody")))
        for path, ops in doc["paths"].items()
        if not path.startswith(("/_openroster", "/_bench"))
        for method, op in ops.items()
    ]


OPERATIONS = [(m, p) for m, p, _ in platform_operations()]
#: Negative mode needs something to break: operations without parameters or body only run positive.
CASES = [
    pytest.param(m, p, mode, id=f"{m} {p}-{mode.value}")
    for m, p, takes_input in platform_operations()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if takes_input or mode is GenerationMode.POSITIVE
]


@dataclass
class Target:
    world: WorldServer
    schema: Any


@pytest.fixture(scope="module", params=backend_params())
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One server for the module, on each backend, holding the two-company world."""
    # Throttling would turn fuzzing of GET /v7/depts/root into a test of the rate limiter.
    unthrottled = ("--rate-limit", "GET /v7/depts/root=0")
    with world_server(request, tmp_path_factory, str(request.param), *unthrottled) as w:
        yield Target(w, schemathesis.openapi.from_url(w.base_url + "/openapi.json"))


def _auth(target: Target, path: str) -> dict[str, Any]:
    if is_dingtalk(path):
        return {"query": {"access_token": target.world.dingtalk_token}} if path != "/gettoken" else {}
    return {"headers": {"Authorization": f"Bearer {target.world.wps_token}"}}


@pytest.mark.e2e
@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_operation_answers_hostile_input_in_its_envelope(
    target: Target, method: str, path: str, mode: GenerationMode
) -> None:
    operation = target.schema[path][method]
    log_start = target.world.log.stat().st_size
    strategy = operation.as_strategy(generation_mode=mode, **_auth(target, path))

    @fuzz_settings()
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        resp = case.call(base_url=target.world.base_url, timeout=30)
        sent = (resp.request.url or "").encode() + _bytes(resp.request.body)
        check_reply(case.formatted_path, resp.status_code, resp.headers, resp.content, sent=sent)

    fuzz()
    problems = server_log_problems(target.world.log_text(log_start))
    assert not problems, problems


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode()


def test_every_platform_endpoint_is_fuzzed() -> None:
    """The document lists every route of both dialects (a route left out would go unfuzzed)."""
    import openroster.dialects.wps.routes  # noqa: F401  (registers every route)
    from openroster.dialects.dingtalk.endpoint import ROUTES as DINGTALK_ROUTES
    from openroster.dialects.wps.endpoint import ROUTES as WPS_ROUTES

    listed = set(OPERATIONS)
    assert {("POST", "/oauth2/token"), ("GET", "/gettoken")} <= listed
    assert {(r.method, "/v7" + r.path) for r in WPS_ROUTES} <= listed
    assert {("POST", r.path) for r in DINGTALK_ROUTES} <= listed
