"""WPS ``POST /oauth2/token`` as RFC 6749 has it: a requested scope narrows the token; one client
authentication method per request. Raw HTTP against the session's real server (the plugin's
``openroster_server``), each test in a tenant of its own."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from openroster.testing.plugin import OpenrosterTenant

pytestmark = pytest.mark.e2e

READWRITE = ("kso.contact.readwrite", "kso.user_email.read")


@pytest.fixture
def app(openroster_tenant: OpenrosterTenant) -> dict[str, str]:
    """An unsigned app holding contacts readwrite and the email field scope."""
    made = openroster_tenant.add_app(signing="none", scopes=list(READWRITE))
    return {"client_id": made["client_id"], "client_secret": made["client_secret"]}


@pytest.fixture
def http(openroster_tenant: OpenrosterTenant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=openroster_tenant.server.base_url, timeout=30) as client:
        yield client


def ask(http: httpx.Client, app: dict[str, str], **extra: str) -> httpx.Response:
    return http.post("/oauth2/token", data={"grant_type": "client_credentials", **app, **extra})


def create_dept(http: httpx.Client, token: str, name: str) -> httpx.Response:
    return http.post(
        "/v7/depts/create",
        json={"parent_id": "1", "name": name},
        headers={"Authorization": f"Bearer {token}"},
    )


def read_root(http: httpx.Client, token: str) -> httpx.Response:
    return http.get("/v7/depts/1", headers={"Authorization": f"Bearer {token}"})


def code_of(resp: httpx.Response) -> int:
    return int(resp.json()["code"])


def test_a_token_asked_for_with_a_field_scope_only_cannot_create_a_department(
    http: httpx.Client, app: dict[str, str]
) -> None:
    resp = ask(http, app, scope="kso.user_email.read")
    assert resp.status_code == 200, resp.text
    narrow = resp.json()["access_token"]
    refused = create_dept(http, narrow, "not allowed")
    assert (refused.status_code, code_of(refused)) == (403, 40300001), refused.text
    assert "kso.contact.readwrite" in refused.json()["msg"]


def test_read_is_granted_from_readwrite_and_the_token_then_reads_but_does_not_write(
    http: httpx.Client, app: dict[str, str]
) -> None:
    resp = ask(http, app, scope="kso.contact.read")
    assert resp.status_code == 200, resp.text
    read_only = resp.json()["access_token"]
    root = read_root(http, read_only)
    assert (root.status_code, code_of(root)) == (200, 0), root.text
    refused = create_dept(http, read_only, "still not allowed")
    assert (refused.status_code, code_of(refused)) == (403, 40300001), refused.text


def test_the_private_deployment_spelling_is_granted_alike(http: httpx.Client, app: dict[str, str]) -> None:
    resp = ask(http, app, scope="kso.contacts.read")
    assert resp.status_code == 200, resp.text
    assert code_of(read_root(http, resp.json()["access_token"])) == 0


def test_a_token_without_scope_holds_every_scope_of_its_app(http: httpx.Client, app: dict[str, str]) -> None:
    full = ask(http, app).json()["access_token"]
    made = create_dept(http, full, "allowed")
    assert (made.status_code, code_of(made)) == (200, 0), made.text


def test_a_narrowed_token_leaves_out_the_fields_of_scopes_it_was_not_given(
    http: httpx.Client, app: dict[str, str], openroster_tenant: OpenrosterTenant
) -> None:
    full = ask(http, app).json()["access_token"]
    user = {"user_name": "Ada", "email": "ada@example.com", "dept_ids": ["1"]}
    made = http.post("/v7/users/create", json=user, headers={"Authorization": f"Bearer {full}"})
    assert code_of(made) == 0, made.text
    user_id = made.json()["data"]["id"]
    body = {"user_ids": [user_id], "status": ["active", "notactive"]}
    for scope, has_email in (("kso.contact.read kso.user_email.read", True), ("kso.contact.read", False)):
        token = ask(http, app, scope=scope).json()["access_token"]
        reply = http.post("/v7/users/batch_read", json=body, headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.text
        (item,) = reply.json()["data"]["items"]
        assert ("email" in item) is has_email, (scope, item)


def test_a_scope_the_app_does_not_hold_is_invalid_scope(http: httpx.Client, app: dict[str, str]) -> None:
    resp = ask(http, app, scope="kso.contact.read kso.user_phone.read")
    assert (resp.status_code, code_of(resp)) == (400, 40000005), resp.text
    assert "kso.user_phone.read" in resp.json()["msg"]
    assert "kso.contact.read" not in resp.json()["msg"].split("hold", 1)[1]


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.mark.parametrize(
    "form",
    [
        pytest.param("other-app", id="basic-and-another-apps-form-credentials"),
        pytest.param("same-app", id="basic-and-the-same-apps-form-secret"),
        pytest.param("other-id-only", id="basic-and-another-client_id"),
    ],
)
def test_two_client_authentication_methods_are_invalid_request(
    http: httpx.Client, app: dict[str, str], openroster_tenant: OpenrosterTenant, form: str
) -> None:
    other = openroster_tenant.add_app(signing="none", scopes=["kso.contact.read"])
    fields = {
        "other-app": {"client_id": other["client_id"], "client_secret": other["client_secret"]},
        "same-app": app,
        "other-id-only": {"client_id": other["client_id"]},
    }[form]
    resp = http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", **fields},
        headers={"Authorization": _basic(app["client_id"], app["client_secret"])},
    )
    assert (resp.status_code, code_of(resp)) == (400, 40000001), resp.text
    assert "not both" in resp.json()["msg"]


def test_basic_alone_and_basic_with_its_own_client_id_are_accepted(
    http: httpx.Client, app: dict[str, str]
) -> None:
    headers = {"Authorization": _basic(app["client_id"], app["client_secret"])}
    for data in (
        {"grant_type": "client_credentials"},
        {"grant_type": "client_credentials", "client_id": app["client_id"]},
    ):
        resp = http.post("/oauth2/token", data=data, headers=headers)
        assert resp.status_code == 200, resp.text
