"""The control plane authenticates first, then routes: without the admin token every path and
method gets the same 401, so an unauthenticated caller cannot tell which routes exist. Only the
health check and the control plane's own API docs are open, and the docs hold no secret."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from openroster.testing.plugin import OpenrosterServer, OpenrosterTenant

pytestmark = pytest.mark.e2e

UNAUTHORIZED = {
    "error": {"code": "unauthorized", "message": "send Authorization: Bearer <admin token>", "field": None}
}


@pytest.fixture
def control(openroster_server: OpenrosterServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=openroster_server.base_url + "/_openroster", timeout=30) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/reset"),  # a route, but not for PUT: 405 with the token
        ("POST", "/reset"),
        ("GET", "/version"),
        ("DELETE", "/clock"),
        ("GET", "/no-such-route"),  # 404 with the token
        ("POST", "/tenants/acme/apps"),
        ("GET", "/journal"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Bearer not-the-admin-token"}, id="wrong-token"),
        pytest.param({"Authorization": "Basic eDp5"}, id="basic"),
    ],
)
def test_without_the_admin_token_every_path_and_method_is_the_same_401(
    control: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    resp = control.request(method, path, headers=headers)
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json() == UNAUTHORIZED


def test_two_authorization_headers_are_refused_even_if_one_is_the_token(
    control: httpx.Client, openroster_server: OpenrosterServer
) -> None:
    headers = [("Authorization", f"Bearer {openroster_server.admin_token}"), ("Authorization", "Bearer x")]
    resp = control.get("/version", headers=headers)
    assert resp.status_code == 401, resp.text


def test_with_the_token_routing_answers_as_before(
    control: httpx.Client, openroster_server: OpenrosterServer
) -> None:
    auth = {"Authorization": f"Bearer {openroster_server.admin_token}"}
    assert control.put("/reset", headers=auth).status_code == 405
    assert control.get("/no-such-route", headers=auth).status_code == 404
    assert control.get("/version", headers=auth).status_code == 200


def test_health_and_the_docs_are_open_and_the_docs_hold_no_secret(
    control: httpx.Client, openroster_server: OpenrosterServer, openroster_tenant: OpenrosterTenant
) -> None:
    assert control.get("/health").json() == {"status": "ok"}
    page = control.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    spec = control.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "openroster control plane"
    for secret in (openroster_server.admin_token, openroster_tenant.wps.client_secret, openroster_tenant.id):
        assert secret not in spec.text
        assert secret not in page.text


@pytest.mark.parametrize("path", ["/tenants/%0A/apps", "/x%0Ay", "/tenants/a%0D%0Ab"])
def test_a_control_path_holding_a_line_break_is_answered_by_the_control_plane(
    control: httpx.Client, openroster_server: OpenrosterServer, path: str
) -> None:
    """The server's router does not hand such a path to the control app (its mount does not match
    a line break); the reply is still the control plane's: 401 without the token, 404 with it.
    Found by the control plane's schemathesis run (tests/reliability/test_fuzz_openapi.py)."""
    resp = control.post(path, json={})
    assert (resp.status_code, resp.json()) == (401, UNAUTHORIZED), resp.text
    auth = {"Authorization": f"Bearer {openroster_server.admin_token}"}
    resp = control.post(path, json={}, headers=auth)
    assert resp.status_code == 404, resp.text
    assert resp.json()["error"]["code"] == "not_found", resp.text
