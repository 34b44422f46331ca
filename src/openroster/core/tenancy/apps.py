"""App services: API credentials, their scopes and signing scheme, and access tokens."""

from __future__ import annotations

import dataclasses
import re
import secrets as _random
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.exceptions import InvalidTag

from openroster.core import validate
from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.core.runtime.secrets import ENV_MASTER_KEY, constant_time_equals, new_secret
from openroster.model.entities import App, Signing
from openroster.model.errors import AuthError, Conflict, Entity, InvalidValue, NotFound
from openroster.store import apps as app_rows
from openroster.store import tenants as tenant_rows
from openroster.store.base import WriteTx

_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def create(d: Directory, **fields: Any) -> App:
    """Register an app for a tenant (see :func:`build` for the fields)."""
    app = build(d, **fields)
    with d.writer() as tx:
        return create_in(tx, d, app)


def build(
    d: Directory,
    *,
    tenant_id: str,
    name: str | None = None,
    scopes: Iterable[str] = (),
    signing: Signing | str = Signing.NONE,
    client_id: str | None = None,
    secret: str | None = None,
    agentid: int | None = None,
) -> App:
    """A checked, not yet stored app. Without ``client_id``/``secret`` fresh ones are made."""
    cid = client_id or f"AK{_random.token_hex(8)}"
    if not _CLIENT_ID.match(cid):
        raise InvalidValue(
            f"client_id {cid!r} must be 1-128 letters, digits, '_', '.' or '-'", field="client_id"
        )
    sec = _checked_secret(secret or new_secret())
    sign = validate.choice(
        signing.value if isinstance(signing, Signing) else signing, Signing, field="signing"
    )
    scope_set = frozenset(s.strip() for s in scopes if s.strip())
    app = App(
        client_id=cid,
        tenant_id=tenant_id,
        name=validate.text(name, field="name", max_len=200) or cid,
        secret=sec,
        secret_version=1,
        scopes=scope_set,
        signing=sign,
        agentid=agentid,
        ctime=d.clock.now_int(),
    )
    return app


def _checked_secret(secret: str) -> str:
    if len(secret) < 8 or len(secret) > 256:
        raise InvalidValue("client_secret must be 8-256 characters", field="client_secret")
    return secret


def create_in(tx: WriteTx, d: Directory, app: App) -> App:
    """Store ``app`` inside an open write transaction."""
    tenant_id, cid, agentid = app.tenant_id, app.client_id, app.agentid
    if tenant_rows.get_tenant(tx.conn, tenant_id) is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant", entity=Entity.TENANT)
    if app_rows.get_app(tx.conn, cid, d.unseal) is not None:
        raise Conflict(f"client_id {cid!r} already exists", field="client_id", entity=Entity.APP)
    if agentid is not None and app_rows.find_app_by_agentid(tx.conn, tenant_id, agentid, d.unseal):
        raise Conflict(
            f"agentid {agentid} is already used in tenant {tenant_id!r}", field="agentid", entity=Entity.APP
        )
    app_rows.insert_app(tx.conn, app, sealed_secret=d.seal(app.secret, cid))
    tx.changed(tenant_id, "app", cid)
    return app


def rotate_secret(d: Directory, *, client_id: str, secret: str | None = None) -> App:
    """Give the app a new secret; every token issued under the old one stops working."""
    sec = _checked_secret(secret or new_secret())
    with d.writer() as tx:
        app = app_rows.get_app(tx.conn, client_id, d.unseal)
        if app is None:
            raise NotFound(f"app {client_id!r} does not exist", field="client_id", entity=Entity.APP)
        app_rows.update_secret(tx.conn, client_id, sealed_secret=d.seal(sec, client_id))
        tx.changed(app.tenant_id, "app", client_id)
    with d.reader() as r:
        fresh = r.app(client_id)
    assert fresh is not None
    return fresh


def check_master_key(d: Directory) -> None:
    """Raise ``ValueError`` when the store's app secrets were sealed with another master key.

    Such a server could not unseal a single secret, so every token request would
    fail with an internal error; better to refuse to start and say why.
    """
    with d.store.read() as tx:
        for tenant in tenant_rows.list_tenants(tx.conn):
            try:
                if app_rows.list_apps(tx.conn, tenant.id, d.unseal):
                    return
            except InvalidTag:
                raise ValueError(
                    "the master key is not the one this database's app secrets were sealed with: "
                    f"use the database's own master.key (or set {ENV_MASTER_KEY})"
                ) from None


def list_for_tenant(d: Directory, tenant_id: str) -> list[App]:
    with d.reader() as r:
        return app_rows.list_apps(r.conn, tenant_id, d.unseal)


def issue_token(
    d: Directory,
    *,
    client_id: str,
    client_secret: str,
    narrow: Callable[[App], frozenset[str] | None] | None = None,
) -> tuple[str, int]:
    """Exchange client credentials for an access token: ``(token, expires_in)``.

    ``narrow`` (the dialect's scope rule) is given the authenticated app and says which of its
    scopes the token carries (``None``: all of them, now and as the app's scopes change).
    """
    with d.reader() as r:
        app = r.app(client_id)
    if app is None or not constant_time_equals(app.secret, client_secret):
        raise AuthError("client_id or client_secret is wrong", reason="invalid_client", field="client_id")
    scopes = narrow(app) if narrow is not None else None
    expires_at = d.clock.now_int() + limits.TOKEN_TTL_SECONDS
    token = d.wps_tokens.mint(
        client_id=app.client_id, secret_version=app.secret_version, expires_at=expires_at, scopes=scopes
    )
    return token, limits.TOKEN_TTL_SECONDS


def _member(held: frozenset[str], scope: str) -> bool:
    return scope in held


def authenticate(r: Reader, token: str, *, holds: Callable[[frozenset[str], str], bool] = _member) -> App:
    """The app a bearer token was issued to. No database round trip on a warm cache.

    A token issued for fewer scopes than its app holds gives the app with those scopes only,
    less any the app no longer ``holds`` (the dialect's rule, e.g. a read scope held through
    its readwrite scope).
    """
    client_id, version, expires_at, scopes = r.directory.wps_tokens.open(token)
    now = r.directory.clock.now()
    if expires_at <= now:
        raise AuthError("access_token has expired", reason="expired_token")
    if expires_at - limits.TOKEN_TTL_SECONDS > now:
        # Minted while the clock was ahead (the control plane moved it), and it has since gone back:
        # the token was issued at a time that has not come yet, so it is no token of this clock's.
        raise AuthError(
            "access_token was issued later than the server's clock now shows", reason="invalid_token"
        )
    app = r.app(client_id)
    if app is None or app.secret_version != version:
        raise AuthError("access_token was revoked", reason="invalid_token")
    if scopes is not None:  # narrowed when issued; never wider than the app holds now
        return dataclasses.replace(app, scopes=frozenset(s for s in scopes if holds(app.scopes, s)))
    return app
