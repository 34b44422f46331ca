"""For the foundation end-to-end tests: a tenant with one app per signing scheme, raw and signed calls.

The world is written through the core services into the store the test's server
uses (``directory`` and ``server_factory`` share the test's data directory and
database) before the server starts. Calls go over real HTTP: through the SDK's
:class:`~openroster.client.WpsClient` for well-formed ones and through raw httpx,
signed here with the dialect's own signing functions, for everything a real
client would never send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

import wps_signer
from conftest import ALL_WPS_SCOPES, ServerProcess
from openroster.client import WpsClient
from openroster.client.retry import RetryPolicy
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.tenancy import apps, tenants
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate
from openroster.store import schema

TENANT = "acme"
OTHER = "globex"
CONTACT_READ = ("kso.contact.read",)
EVERY_SCOPE = (*ALL_WPS_SCOPES, "kso.user_custom_attr.read")

#: client id -> (signing, scopes). The secret of each is ``<client id>-secret``.
APPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "acme-kso": ("kso1", EVERY_SCOPE),
    "acme-wps4": ("wps4", EVERY_SCOPE),
    "acme-gm": ("wps4gm", EVERY_SCOPE),
    "acme-open": ("none", EVERY_SCOPE),
    "acme-plain": ("none", CONTACT_READ),
    "acme-email": ("none", (*CONTACT_READ, "kso.user_email.read")),
    "acme-phone": ("none", (*CONTACT_READ, "kso.user_phone.read")),
    "acme-gender": ("none", (*CONTACT_READ, "kso.user_gender.read")),
    "acme-rw": ("none", ("kso.contact.readwrite",)),
    "acme-attrs": ("none", ("kso.user_custom_attr.readwrite",)),
}
SCHEME = {"kso1": wps_signer.KSO1, "wps4": wps_signer.WPS4, "wps4gm": wps_signer.WPS4GM}
NO_RETRY = RetryPolicy(max_retries=0)

#: The tables of the directory itself (not logs or caches other features may write).
DIRECTORY_TABLES = (
    schema.tenants,
    schema.apps,
    schema.depts,
    schema.users,
    schema.memberships,
    schema.attr_defs,
    schema.attr_values,
)


@dataclass(frozen=True)
class World:
    """The ids the tests need: acme's departments and people, globex's foreign ones."""

    eng: int
    backend: int
    sales: int
    bulk: list[str]
    foreign_dept: int  # a department of globex with an id acme does not have


def build_world(d: Directory, *, bulk: int = 120) -> World:
    """acme (the apps of :data:`APPS`, a small tree, five people of every status, ``bulk`` more); globex."""
    tenants.create(d, tenant_id=TENANT, name="Acme 科技")
    for cid, (sign, scopes) in APPS.items():
        apps.create(d, tenant_id=TENANT, client_id=cid, secret=f"{cid}-secret", signing=sign, scopes=scopes)
    eng = depts.create(d, tenant_id=TENANT, item=depts.NewDepartment(name="研发部", parent_id=1)).id
    backend = depts.create(d, tenant_id=TENANT, item=depts.NewDepartment(name="后端组", parent_id=eng)).id
    sales = depts.create(d, tenant_id=TENANT, item=depts.NewDepartment(name="销售部", parent_id=1)).id
    users.create_many(
        d,
        tenant_id=TENANT,
        items=[
            users.NewUser(
                id="u1",
                user_name="王芳",
                dept_ids=(eng, sales),
                def_dept_id=eng,
                leader_of=(eng,),
                email="wang.fang@acme.test",
                phone="13800000001",
                gender="female",
                employee_id="E0001",
                employer="Acme 科技",
                employment_status="regular",
                employment_type="permanent",
                ex_user_id="hr-0001",
                login_name="wangfang",
                role="admin",
                title="研发总监",
                telephone="010-88880001",
                work_place="北京",
                city="北京",
                country="中国",
                avatar="https://avatars.acme.test/u1.png",
                ctime=1700000000,
            ),
            users.NewUser(id="u2", user_name="张伟", dept_ids=(backend,), leader_id="u1", gender="male"),
            users.NewUser(id="u3", user_name="李娜", dept_ids=(sales,), status="notactive"),
            users.NewUser(id="u4", user_name="刘洋", dept_ids=(sales,), status="disabled"),
            users.NewUser(id="u5", user_name="陈静", dept_ids=(1,), status="dimission"),
        ],
    )
    bulk_ids = [f"b{n:03d}" for n in range(bulk)]
    users.create_many(
        d,
        tenant_id=TENANT,
        items=[users.NewUser(id=uid, user_name=f"成员{uid}", dept_ids=(backend,)) for uid in bulk_ids],
    )
    attributes.create_definitions(
        d,
        tenant_id=TENANT,
        items=[
            attributes.NewDefinition(id="desk", name="工位", value_type="text"),
            attributes.NewDefinition(
                id="level", name="职级", value_type="option", options=(("P5", "P5 高级"), ("P6", "P6 资深"))
            ),
            attributes.NewDefinition(id="home", name="主页", value_type="url"),
            attributes.NewDefinition(id="mentor", name="导师", value_type="relation_user"),
            attributes.NewDefinition(id="partners", name="协作部门", value_type="relation_depts"),
        ],
    )
    attributes.update_values(
        d,
        tenant_id=TENANT,
        updates=[UserAttributeUpdate(user_id="u1", attrs=(AttributeUpdate(attr_id="desk", text="5F-001"),))],
    )

    tenants.create(d, tenant_id=OTHER, name="Globex")
    apps.create(
        d,
        tenant_id=OTHER,
        client_id="globex-kso",
        secret="globex-kso-secret",
        signing="kso1",
        scopes=EVERY_SCOPE,
    )
    foreign = 0
    for name in ("A", "B", "C", "D", "E"):
        foreign = depts.create(d, tenant_id=OTHER, item=depts.NewDepartment(name=name, parent_id=1)).id
    users.create(d, tenant_id=OTHER, item=users.NewUser(id="g1", user_name="Hank", dept_ids=(1,)))
    attributes.create_definitions(
        d, tenant_id=OTHER, items=[attributes.NewDefinition(id="secret", name="Secret", value_type="text")]
    )
    return World(eng=eng, backend=backend, sales=sales, bulk=bulk_ids, foreign_dept=foreign)


def directory_rows(d: Directory) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the directory's tables, sorted: equal before and after a refused call."""
    from sqlalchemy import select

    with d.store.read() as tx:
        return {
            t.name: sorted((tuple(r) for r in tx.conn.execute(select(t)).all()), key=repr)
            for t in DIRECTORY_TABLES
        }


def client(server: ServerProcess, cid: str = "acme-kso", *, prefix: str = "") -> WpsClient:
    """The SDK client of one of :data:`APPS`, with its signing scheme, never retrying."""
    sign = APPS[cid][0] if cid in APPS else "kso1"
    return WpsClient(
        server.base_url,
        client_id=cid,
        client_secret=f"{cid}-secret",
        signing=None if sign == "none" else sign,
        prefix=prefix,
        retry=NO_RETRY,
    )


def token(server: ServerProcess, cid: str) -> str:
    resp = httpx.post(
        server.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": f"{cid}-secret"},
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def signed_headers(
    cid: str,
    method: str,
    uri: str,
    body: bytes,
    *,
    content_type: str = "application/json",
    scheme: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The signature headers ``cid`` would send (its own scheme unless ``scheme`` says otherwise)."""
    scheme = scheme or SCHEME[APPS[cid][0] if cid in APPS else "kso1"]
    return wps_signer.sign_headers(
        scheme, cid, f"{cid}-secret", method, uri, content_type, body, now=now or datetime.now(UTC)
    )


def raw(
    server: ServerProcess,
    method: str,
    target: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send exactly these bytes and headers (``target`` is the path, prefix and query included)."""
    return httpx.request(
        method, server.base_url + target, content=body, headers=dict(headers or {}), timeout=30
    )


def call(
    server: ServerProcess,
    cid: str,
    method: str,
    path: str,
    payload: Any = None,
    *,
    prefix: str = "",
    body: bytes | None = None,
    bearer: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> httpx.Response:
    """A correctly signed raw call of app ``cid`` (``path`` includes any query string)."""
    data = body if body is not None else (orjson.dumps(payload) if payload is not None else b"")
    ctype = "application/json" if data or method != "GET" else ""
    headers = {"Authorization": f"Bearer {bearer or token(server, cid)}"}
    if ctype:
        headers["Content-Type"] = ctype
    if APPS.get(cid, ("kso1",))[0] != "none":
        headers.update(signed_headers(cid, method, path, data, content_type=ctype))
    headers.update(extra or {})
    return raw(server, method, prefix + path, data, headers)


def envelope(resp: httpx.Response) -> dict[str, Any]:
    """The reply as JSON, checked to be a ``{code, msg, data}`` envelope of JSON content type."""
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    reply: dict[str, Any] = orjson.loads(resp.content)
    assert set(reply) >= {"code", "msg", "data"}, reply
    return reply


def assert_error(resp: httpx.Response, code: int, *words: str) -> str:
    """The reply is WPS error ``code`` with its HTTP status; the message holds every word; returns it."""
    reply = envelope(resp)
    assert (reply["code"], resp.status_code) == (code, code // 100000), reply
    assert reply["data"] is None
    for w in words:
        assert w in reply["msg"], reply["msg"]
    return str(reply["msg"])
