"""Hostile input: every platform operation of every dialect, and every control-plane operation, fuzzed
from the server's own OpenAPI documents.

schemathesis reads ``/openapi.json`` from a running ``openroster serve`` and
generates requests for each operation: valid ones (positive mode, which reach
the handlers and the store) and invalid ones (negative mode: wrong types,
missing fields, out-of-range values). The calls carry a real credential (a
bearer token of an app with every scope, a DingTalk access token), so they get
past authentication and exercise parsing, the core's rules and the store. Each
reply must follow :mod:`reliability.replies` (no 5xx, the dialect's envelope,
no stack trace or SQL), and the server log must show no unhandled error.

The control plane's document (``/_openroster/openapi.json``) is fuzzed the same way with the admin
token, on a server of its own: each reply must be below 500 and every 4xx the control plane's
``{"error": {code, message, field}}`` (:func:`reliability.replies.check_control_reply`).

Runs on SQLite (the server suites' rule, CONTRIBUTING.md; ``--every-store`` runs it on PostgreSQL
too, about 40 s more on a 2-core machine). What PostgreSQL refuses that SQLite takes is checked on
both stores elsewhere: a NUL character is refused by each dialect before any route
(``dialects/nul.py``; test_limits.py sends one in a body, a path, a query and credentials on both),
and the columns' lengths are test_limits.py's. ``OPENROSTER_FUZZ`` picks the profile
(:mod:`reliability.fuzzing`): ``ci``, the default, is derandomized at 10 examples per operation and
mode (about 40 s on a 2-core machine; the suite has a 9-minute budget); ``deep`` is random and runs
300.
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
from openroster.control import api as control_api
from openroster.control.calls import CONTROL_PREFIX
from openroster.server.app import create_app
from reliability.fuzzing import fuzz_settings
from reliability.replies import (
    check_control_reply,
    check_reply,
    is_dingtalk,
    is_dingtalk_v1,
    is_scim,
    server_log_problems,
)
from reliability.servers import ADMIN_TOKEN, WorldServer, backend_params, world_server

pytestmark = pytest.mark.slow


def breakable(op: dict[str, Any]) -> bool:
    """Whether negative mode can make an invalid request for the operation: it has a body, a query
    or header parameter (which can be left out or mistyped), or a path parameter with a constraint
    (any string fills an unconstrained path segment, so nothing about it is invalid). The ``/v1.0``
    token header is not one: the test sends it (:func:`_auth`)."""
    params = [p for p in op.get("parameters", []) if p["name"] != "x-acs-dingtalk-access-token"]
    return bool(op.get("requestBody")) or any(
        p["in"] != "path" or set(p.get("schema", {})) - {"type", "title"} for p in params
    )


def operations(doc: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """``(method, path, breakable)`` of every operation in an OpenAPI document but the benchmarks'
    and the control plane's (which has its own document)."""
    return [
        (method.upper(), path, breakable(op))
        for path, ops in doc["paths"].items()
        if not path.startswith(("/_openroster", "/_bench"))
        for method, op in ops.items()
    ]


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    """The server's OpenAPI document (the platforms') and the control plane's, built in process."""
    app = create_app(Settings(data_dir=Path("unused")))
    return app.openapi(), control_api.build(app.state.control).openapi()


PLATFORM_DOC, CONTROL_DOC = documents()


def cases(doc: dict[str, Any]) -> list[Any]:
    """Each operation in both modes; negative mode needs something to break (:func:`breakable`),
    so the other operations only run positive."""
    return [
        pytest.param(m, p, mode, id=f"{m} {p}-{mode.value}")
        for m, p, can_break in operations(doc)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if can_break or mode is GenerationMode.POSITIVE
    ]


OPERATIONS = [(m, p) for m, p, _ in operations(PLATFORM_DOC)]
CASES = cases(PLATFORM_DOC)


@dataclass
class Target:
    world: WorldServer
    schema: Any


@pytest.fixture(scope="module", params=backend_params())
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One server for the module, on each backend it runs on, holding the two-company world."""
    # Throttling would turn fuzzing of GET /v7/depts/root (and of every /v1.0 call, 20/s) into a
    # test of the rate limiter.
    unthrottled = ("--rate-limit", "GET /v7/depts/root=0", "--dingtalk-v1-rate-limit", "*=off")
    with world_server(request, tmp_path_factory, str(request.param), *unthrottled) as w:
        yield Target(w, schemathesis.openapi.from_url(w.base_url + "/openapi.json"))


def _auth(target: Target, path: str) -> dict[str, Any]:
    if is_dingtalk_v1(path):  # the token calls take none; the others the header
        token = {"x-acs-dingtalk-access-token": target.world.dingtalk_token}
        return {} if path.startswith("/v1.0/oauth2/") else {"headers": token}
    if is_dingtalk(path):
        return {"query": {"access_token": target.world.dingtalk_token}} if path != "/gettoken" else {}
    if is_scim(path):
        return {"headers": {"Authorization": f"Bearer {target.world.scim_token}"}}
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


# -- the control plane ------------------------------------------------------------------------------

CONTROL_CASES = cases(CONTROL_DOC)


@pytest.fixture(scope="module", params=backend_params())
def control_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """A server of its own for the control plane's fuzzing, on each backend it runs on: the generated calls
    reset and delete tenants, import snapshots and move the clock, which would pull the world out
    from under the platform fuzzing (and out from under any test sharing a server)."""
    with world_server(request, tmp_path_factory, str(request.param)) as w:
        yield Target(w, schemathesis.openapi.from_url(w.base_url + CONTROL_PREFIX + "/openapi.json"))


@pytest.mark.e2e
@pytest.mark.parametrize(("method", "path", "mode"), CONTROL_CASES)
def test_control_operation_answers_hostile_input_with_its_error_body(
    control_target: Target, method: str, path: str, mode: GenerationMode
) -> None:
    """Every control-plane operation, with the admin token: never a 5xx, every 4xx in the control
    plane's ``{"error": {code, message, field}}``, and no unhandled error in the server log."""
    world = control_target.world
    operation = control_target.schema[path][method]
    log_start = world.log.stat().st_size
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    strategy = operation.as_strategy(generation_mode=mode, headers=admin)

    @fuzz_settings()
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        resp = case.call(base_url=world.base_url + CONTROL_PREFIX, timeout=30)
        sent = (resp.request.url or "").encode() + _bytes(resp.request.body)
        check_control_reply(resp.status_code, resp.headers, resp.content, sent=sent)
        assert resp.status_code != 401, "the admin token was sent: every call must get past it"

    fuzz()
    problems = server_log_problems(world.log_text(log_start))
    assert not problems, problems


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode()


def test_every_platform_endpoint_is_fuzzed() -> None:
    """The document lists every route of both dialects (a route left out would go unfuzzed)."""
    import openroster.dialects.wps.routes  # noqa: F401  (registers every route)
    from openroster.dialects.dingtalk.endpoint import ROUTES as DINGTALK_ROUTES
    from openroster.dialects.dingtalk_v1.endpoint import ROUTES as DINGTALK_V1_ROUTES
    from openroster.dialects.wps.endpoint import ROUTES as WPS_ROUTES

    listed = set(OPERATIONS)
    assert {("POST", "/oauth2/token"), ("GET", "/gettoken")} <= listed
    assert {(r.method, "/v7" + r.path) for r in WPS_ROUTES} <= listed
    assert {("POST", r.path) for r in DINGTALK_ROUTES} <= listed
    assert {(r.method, r.path) for r in DINGTALK_V1_ROUTES} <= listed
    assert {("POST", "/v1.0/oauth2/accessToken"), ("POST", "/v1.0/oauth2/{corpId}/token")} <= listed


def test_every_control_endpoint_is_fuzzed() -> None:
    """The control plane's document lists its routes (the fuzzing above reads it)."""
    listed = {(m, p) for m, p, _ in operations(CONTROL_DOC)}
    for wanted in [("POST", "/reset"), ("PUT", "/clock"), ("POST", "/faults"), ("GET", "/journal")]:
        assert wanted in listed, wanted
    assert ("PUT", "/tenants/{tenant_id}/snapshot") in listed and ("DELETE", "/tenants/{tenant_id}") in listed
