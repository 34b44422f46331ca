"""Creating a tenant for a test in one call: the tenant, its seed and its apps, in one transaction."""

from __future__ import annotations

import secrets as _random
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import orjson

from openroster.core.directory import Directory
from openroster.core.tenancy import apps as app_service
from openroster.core.tenancy import tenants as tenant_service
from openroster.fixtures import snapshot
from openroster.model import errors
from openroster.model.entities import App, Tenant


def new_tenant_id() -> str:
    return f"t-{_random.token_hex(6)}"


def create(
    d: Directory,
    *,
    tenant_id: str | None,
    name: str | None,
    wps_company_id: str | None,
    dingtalk_corp_id: str | None,
    seed: Mapping[str, Any] | None,
    apps: Sequence[Mapping[str, Any]],
) -> tuple[Tenant, list[App]]:
    """Create a tenant (from ``seed`` when given) with ``apps``; all of it or nothing.

    Returns the tenant and its apps with their secrets: the seed's, then ``apps`` in order.

    The seed's own ``id`` is ignored (the tenant is ``tenant_id``); its name and
    company ids are used unless given here.
    """
    tid = tenant_id or new_tenant_id()
    spec = dict(seed or {})
    with snapshot.errors_at("seed") if seed is not None else nullcontext():
        tenant = tenant_service.build(
            d,
            tenant_id=tid,
            name=str(name or spec.get("name") or tid),
            wps_company_id=wps_company_id or spec.get("wps_company_id"),
            dingtalk_corp_id=dingtalk_corp_id or spec.get("dingtalk_corp_id"),
        )
    built: list[App] = []
    for i, a in enumerate(apps):
        with snapshot.errors_at(f"apps[{i}]"):
            built.append(app_service.build(d, tenant_id=tid, **a))
    try:
        stored_seed = orjson.dumps({**spec, "id": tid}).decode() if seed is not None else None
    except orjson.JSONEncodeError:  # a number past 64 bits: no field of a seed takes one
        raise errors.InvalidValue("seed: holds a number beyond 64 bits", field="seed") from None
    with d.writer(quiet=True) as tx:  # set-up, not a change: no events
        tenant_service.create_in(tx, tenant, seed=stored_seed)
        if seed is not None:
            snapshot.fill_from_seed_in(tx, d, tid, spec)
        made = tx.apps.list_apps(tid, d.unseal)  # the seed's apps (their secrets may be generated)
        for i, app in enumerate(built):
            with snapshot.errors_at(f"apps[{i}]"):
                made.append(app_service.create_in(tx, d, app))
    return tenant, made
