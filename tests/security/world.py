"""Two companies that both speak both dialects, for the security and reliability suites.

``acme`` and ``globex`` each get a small department tree, people with every
identifying field (email, phone, external id, employee id), custom attributes
with values, HR roster values, and one app per WPS signing scheme plus a
DingTalk app. Some ids exist in both companies (user ``shared-1``, attribute
``level``, department ids, which every company numbers from 1), others in one
only. Every *value* a company holds is distinct from every value of the other,
so a reply that leaks one is caught by a plain substring search
(:meth:`Company.leaked_in`).

The world is written through the core services into the store the test's
server uses, before the server starts; calls then go over real HTTP through the
SDK's clients (:func:`wps_client`, :func:`dingtalk_client`), which sign and
fetch tokens as a real integration does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from conftest import ALL_WPS_SCOPES
from openroster.client import DingTalkClient, WpsClient
from openroster.client.retry import RetryPolicy
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts, users
from openroster.core.roster import writes as roster_writes
from openroster.core.tenancy import apps, tenants
from openroster.dialects.dingtalk.endpoint import PERMISSIONS as TOPAPI_PERMISSIONS
from openroster.dialects.dingtalk_v1 import PERMISSIONS as V1_PERMISSIONS
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate
from openroster.store import schema

WPS_SCOPES: tuple[str, ...] = (*ALL_WPS_SCOPES, "kso.user_custom_attr.read")
#: The DingTalk apps hold every permission of both generations.
DINGTALK_PERMISSIONS: tuple[str, ...] = (*TOPAPI_PERMISSIONS, *V1_PERMISSIONS)
#: App kind -> WPS signing scheme. Client ids are ``<company>-<kind>``.
WPS_APPS: dict[str, str] = {"wps": "none", "kso": "kso1", "wps4": "wps4", "gm": "wps4gm"}
NO_RETRY = RetryPolicy(max_retries=0)


def secret_of(client_id: str) -> str:
    """Every app's secret (distinctive, so a test can search bytes for it)."""
    return f"{client_id}-S3cr3t-9f2c71d04e"


@dataclass(frozen=True)
class Company:
    """One company of the world: its ids, and every value it holds."""

    id: str
    corp_id: str
    agentid: int
    #: Department key ("eng", "backend", "sales", and "only-1".. for ids the other company lacks) -> id.
    depts: dict[str, int]
    #: Ids of people only this company has; ``shared-1`` / ``shared-2`` exist in both.
    own_users: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    ex_user_ids: tuple[str, ...]
    ex_dept_ids: tuple[str, ...]
    #: Attribute ids only this company defines; ``level`` exists in both.
    own_attrs: tuple[str, ...]
    #: Every value this company holds (names, contact data, attribute and roster values).
    values: tuple[str, ...] = field(repr=False)

    def app(self, kind: str) -> str:
        return f"{self.id}-{kind}"

    @property
    def users(self) -> tuple[str, ...]:
        return (*SHARED_USERS, *self.own_users)

    def leaked_in(self, reply: bytes, request: bytes = b"") -> list[str]:
        """This company's values found in ``reply`` that the request did not itself carry."""
        return [v for v in self.values if v.encode() in reply and v.encode() not in request]


SHARED_USERS = ("shared-1", "shared-2")
DEPT_KEYS = ("eng", "backend", "sales")


def _values_of(tag: str, n: int) -> dict[str, Any]:
    """The people of company ``tag`` (``A`` or ``G``), with values unique to it."""
    digit = {"A": "8", "G": "9"}[tag]
    word = {"A": "Acmeval", "G": "Globexval"}[tag]
    return {
        "name": f"{word} Person {n}",
        "email": f"p{n}@{word.lower()}.test",
        "phone": f"13{digit}0000{n:04d}",
        "ex_user_id": f"{word.lower()}-ex-{n}",
        "employee_id": f"{tag}E{n:04d}",
        "title": f"{word} Title {n}",
        "desk": f"{word}-desk-{n}",
        "cert": f"{digit}1010119900101{n:04d}",
        "bank": f"62{digit}8{n:012d}",
    }


def build_company(d: Directory, tenant_id: str, *, tag: str, agentid: int, extra_depts: int = 0) -> Company:
    word = {"A": "Acmeval", "G": "Globexval"}[tag]
    corp = f"ding{tenant_id}"
    tenants.create(d, tenant_id=tenant_id, name=f"{word} Corp", dingtalk_corp_id=corp)
    for kind, sign in WPS_APPS.items():
        cid = f"{tenant_id}-{kind}"
        apps.create(
            d, tenant_id=tenant_id, client_id=cid, secret=secret_of(cid), signing=sign, scopes=WPS_SCOPES
        )
    cid = f"{tenant_id}-ding"
    apps.create(
        d,
        tenant_id=tenant_id,
        client_id=cid,
        secret=secret_of(cid),
        agentid=agentid,
        scopes=DINGTALK_PERMISSIONS,
    )
    ids: dict[str, int] = {}
    ex_dept_ids: list[str] = []
    values: list[str] = [f"{word} Corp", *(f"{word} {k}" for k in DEPT_KEYS)]
    for key, parent in (("eng", None), ("backend", "eng"), ("sales", None)):
        ex = f"{word.lower()}-dept-{key}"
        ex_dept_ids.append(ex)
        ids[key] = depts.create(
            d,
            tenant_id=tenant_id,
            item=depts.NewDepartment(
                name=f"{word} {key}", parent_id=ids[parent] if parent else 1, ex_dept_id=ex
            ),
        ).id
    for n in range(1, extra_depts + 1):  # department ids the other company does not have
        key = f"only-{n}"
        ids[key] = depts.create(
            d, tenant_id=tenant_id, item=depts.NewDepartment(name=f"{word} {key}", parent_id=1)
        ).id
        values.append(f"{word} {key}")
    own = tuple(f"{tenant_id}-u{n}" for n in range(1, 4))
    people = [*SHARED_USERS, *own]
    made = []
    for n, uid in enumerate(people, start=1):
        v = _values_of(tag, n)
        values += [v["name"], v["email"], v["phone"], v["ex_user_id"], v["employee_id"], v["title"]]
        made.append(
            users.NewUser(
                id=uid,
                user_name=v["name"],
                dept_ids=(ids["eng"],) if n == 1 else (ids["backend"] if n % 2 else ids["sales"],),
                email=v["email"],
                phone=v["phone"],
                ex_user_id=v["ex_user_id"],
                employee_id=v["employee_id"],
                title=v["title"],
                leader_of=(ids["eng"],) if n == 1 else (),
            )
        )
    users.create_many(d, tenant_id=tenant_id, items=made)
    own_attr = f"{tenant_id}-desk"
    attributes.create_definitions(
        d,
        tenant_id=tenant_id,
        items=[
            attributes.NewDefinition(id="level", name=f"{word} level", value_type="text"),
            attributes.NewDefinition(id=own_attr, name=f"{word} desk", value_type="text"),
        ],
    )
    values += [f"{word} level", f"{word} desk"]
    updates = []
    for n, uid in enumerate(people, start=1):
        v = _values_of(tag, n)
        updates.append(
            UserAttributeUpdate(
                user_id=uid,
                attrs=(
                    AttributeUpdate(attr_id="level", text=f"{word}-level-{n}"),
                    AttributeUpdate(attr_id=own_attr, text=v["desk"]),
                ),
            )
        )
        values += [f"{word}-level-{n}", v["desk"]]
        roster_writes.update(
            d,
            tenant_id=tenant_id,
            user_id=uid,
            groups=[
                roster_writes.GroupWrite(
                    "sys02",
                    (roster_writes.SectionWrite((roster_writes.FieldWrite("sys02-certNo", v["cert"]),)),),
                ),
                roster_writes.GroupWrite(
                    "sys04",
                    (
                        roster_writes.SectionWrite(
                            (roster_writes.FieldWrite("sys04-bankAccountNo", v["bank"]),)
                        ),
                    ),
                ),
            ],
        )
        values += [v["cert"], v["bank"]]
    attributes.update_values(d, tenant_id=tenant_id, updates=updates)
    values += ex_dept_ids
    return Company(
        id=tenant_id,
        corp_id=corp,
        agentid=agentid,
        depts=ids,
        own_users=own,
        emails=tuple(_values_of(tag, n)["email"] for n in range(1, len(people) + 1)),
        phones=tuple(_values_of(tag, n)["phone"] for n in range(1, len(people) + 1)),
        ex_user_ids=tuple(_values_of(tag, n)["ex_user_id"] for n in range(1, len(people) + 1)),
        ex_dept_ids=tuple(ex_dept_ids),
        own_attrs=(own_attr,),
        values=tuple(values),
    )


def build_world(d: Directory) -> tuple[Company, Company]:
    """``(acme, globex)``."""
    return (
        build_company(d, "acme", tag="A", agentid=1001),
        build_company(d, "globex", tag="G", agentid=2002, extra_depts=2),
    )


def wps_client(base_url: str, company: Company, kind: str = "wps") -> WpsClient:
    cid = company.app(kind)
    sign = WPS_APPS.get(kind, "none")
    return WpsClient(
        base_url,
        client_id=cid,
        client_secret=secret_of(cid),
        signing=None if sign == "none" else sign,
        retry=NO_RETRY,
    )


def dingtalk_client(base_url: str, company: Company, kind: str = "ding") -> DingTalkClient:
    cid = company.app(kind)
    return DingTalkClient(
        base_url, appkey=cid, appsecret=secret_of(cid), agentid=company.agentid, retry=NO_RETRY
    )


def tenant_tables() -> Iterable[Any]:
    """Every table whose rows belong to one company."""
    return [t for t in schema.metadata.sorted_tables if "tenant_id" in t.c and t.name != "change_log"]


def company_rows(d: Directory, tenant_id: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of one company (minus the change log), sorted: equal before and after a refused call."""
    with d.store.read() as tx:
        return {
            t.name: sorted(
                (tuple(r) for r in tx.conn.execute(select(t).where(t.c.tenant_id == tenant_id)).all()),
                key=repr,
            )
            for t in tenant_tables()
        }
