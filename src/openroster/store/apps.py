"""Queries on apps (API credentials)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from openroster.model.entities import App, Platform, Signing
from openroster.store.schema import apps
from openroster.store.sql import column_values, from_columns

Unseal = Callable[[bytes, str], str]


def _app(row: Any, unseal: Unseal) -> App:
    r = row._mapping
    return from_columns(
        App,
        r,
        secret=unseal(r["secret_sealed"], r["client_id"]),
        scopes=frozenset(orjson.loads(r["scopes"])),
        signing=Signing(r["signing"]),
        platform=Platform(r["platform"]),
    )


def insert_app(conn: Connection, app: App, *, sealed_secret: bytes) -> None:
    conn.execute(
        insert(apps).values(
            {
                **column_values(app, without={"secret"}),
                "secret_sealed": sealed_secret,
                "scopes": orjson.dumps(sorted(app.scopes)).decode(),
                "signing": app.signing.value,
                "platform": app.platform.value,
            }
        )
    )


#: Built once: it is run on every signed request and every pass of the event engine.
_GET_APP = select(apps).where(apps.c.client_id == bindparam("client_id"))


def get_app(conn: Connection, client_id: str, unseal: Unseal) -> App | None:
    row = conn.execute(_GET_APP, {"client_id": client_id}).first()
    return _app(row, unseal) if row is not None else None


def list_apps(conn: Connection, tenant_id: str, unseal: Unseal) -> list[App]:
    rows = conn.execute(select(apps).where(apps.c.tenant_id == tenant_id).order_by(apps.c.client_id)).all()
    return [_app(r, unseal) for r in rows]


def find_app_by_agentid(conn: Connection, tenant_id: str, agentid: int, unseal: Unseal) -> App | None:
    row = conn.execute(select(apps).where(apps.c.tenant_id == tenant_id, apps.c.agentid == agentid)).first()
    return _app(row, unseal) if row is not None else None


def update_secret(conn: Connection, client_id: str, *, sealed_secret: bytes) -> int:
    """Replace the secret and bump its version; returns the new version (0 if no such app)."""
    version = conn.execute(
        update(apps)
        .where(apps.c.client_id == client_id)
        .values(secret_sealed=sealed_secret, secret_version=apps.c.secret_version + 1)
        .returning(apps.c.secret_version)
    ).scalar()
    return int(version or 0)


def update_scopes(conn: Connection, client_id: str, scopes: Collection[str]) -> bool:
    """Replace the app's scopes; False when there is no such app."""
    q = update(apps).where(apps.c.client_id == client_id).values(scopes=orjson.dumps(sorted(scopes)).decode())
    return bool(conn.execute(q).rowcount)


def delete_app(conn: Connection, client_id: str) -> bool:
    return bool(conn.execute(delete(apps).where(apps.c.client_id == client_id)).rowcount)
