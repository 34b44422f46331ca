"""App services: API credentials, their scopes and signing scheme, and access tokens."""

from __future__ import annotations

import dataclasses
import re
import secrets as _random
from collections.abc import Callable, Collection, Iterable
from typing import Any

from cryptography.exceptions import InvalidTag

from openroster.core import recording, validate
from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.core.runtime.secrets import ENV_MASTER_KEY, constant_time_equals, new_secret
from openroster.model.entities import App, Platform, Signing
from openroster.model.errors import AuthError, Conflict, Entity, InvalidValue, NotFound
from openroster.store import WriteTx

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
    platform: Platform | str | None = None,
) -> App:
    """A checked, not yet stored app. Without ``client_id``/``secret`` fresh ones are made; without
    ``platform`` it is the one its scopes name (:func:`checked_platform`)."""
    cid = client_id or f"AK{_random.token_hex(8)}"
    if not _CLIENT_ID.match(cid):
        raise InvalidValue(
            f"client_id {cid!r} must be 1-128 letters, digits, '_', '.' or '-'", field="client_id"
        )
    sec = _checked_secret(secret or new_secret())
    sign = validate.choice(
        signing.value if isinstance(signing, Signing) else signing, Signing, field="signing"
    )
    scope_set = scope_names(scopes)
    app = App(
        platform=checked_platform(platform, scope_set, agentid),
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


def scope_names(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes as an app holds them: trimmed, blanks dropped, each once."""
    return frozenset(s.strip() for s in scopes if s.strip())


def set_scopes(d: Directory, *, tenant_id: str, client_id: str, scopes: Iterable[str]) -> App:
    """Give the tenant's app these scopes (of its own platform, as at creation). A change is
    recorded (``app_scopes`` ``update``, before = the old scopes: WPS subscribers of the app get
    ``kso.contact.permission_setting``); the same scopes record nothing. Tokens already issued
    follow the app's scopes from the next request on (a narrowed token never widens)."""
    scope_set = scope_names(scopes)
    with d.writer() as tx:
        app = tx.apps.get_app(client_id, d.unseal)
        if app is None or app.tenant_id != tenant_id:
            raise NotFound(
                f"tenant {tenant_id!r} has no app {client_id!r}", field="client_id", entity=Entity.APP
            )
        checked_platform(app.platform, scope_set, app.agentid)
        if scope_set != app.scopes:
            tx.apps.update_scopes(client_id, scope_set)
            tx.changed(tenant_id, "app", client_id)
            recording.app_scopes_changed(tx, tenant_id, client_id, app.scopes)
    return dataclasses.replace(app, scopes=scope_set)


def checked_platform(
    platform: Platform | str | None, scopes: Collection[str], agentid: int | None
) -> Platform:
    """The app's platform: the one given, else the one its scopes name (``Platform.derived``). An app
    belongs to one platform, so its scopes may not name two, nor another than the one given."""
    named = {s: p for s in sorted(scopes) if (p := Platform.of_scope(s)) is not None}
    kinds = set(named.values())
    if len(kinds) > 1:
        raise InvalidValue(
            "scopes: an app belongs to one platform, but these name two: "
            + ", ".join(f"{s} ({p})" for s, p in named.items()),
            field="scopes",
        )
    if platform is None:
        return Platform.derived(scopes, agentid)
    chosen = validate.choice(str(platform), Platform, field="platform")
    if kinds - {chosen}:
        raise InvalidValue(
            f"scopes: {', '.join(named)} belong to {kinds.pop()} apps, not to a {chosen} app",
            field="scopes",
        )
    return chosen


def _checked_secret(secret: str) -> str:
    if len(secret) < 8 or len(secret) > 256:
        raise InvalidValue("client_secret must be 8-256 characters", field="client_secret")
    return secret


def create_in(tx: WriteTx, d: Directory, app: App) -> App:
    """Store ``app`` inside an open write transaction."""
    tenant_id, cid, agentid = app.tenant_id, app.client_id, app.agentid
    if tx.tenants.get_tenant(tenant_id) is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant", entity=Entity.TENANT)
    if tx.apps.get_app(cid, d.unseal) is not None:
        raise Conflict(f"client_id {cid!r} already exists", field="client_id", entity=Entity.APP)
    if agentid is not None and tx.apps.find_app_by_agentid(tenant_id, agentid, d.unseal):
        raise Conflict(
            f"agentid {agentid} is already used in tenant {tenant_id!r}", field="agentid", entity=Entity.APP
        )
    tx.apps.insert_app(app, sealed_secret=d.seal(app.secret, cid))
    tx.changed(tenant_id, "app", cid)
    return app


def rotate_secret(d: Directory, *, client_id: str, secret: str | None = None) -> App:
    """Give the app a new secret; every token issued under the old one stops working."""
    sec = _checked_secret(secret or new_secret())
    with d.writer() as tx:
        app = tx.apps.get_app(client_id, d.unseal)
        if app is None:
            raise NotFound(f"app {client_id!r} does not exist", field="client_id", entity=Entity.APP)
        tx.apps.update_secret(client_id, sealed_secret=d.seal(sec, client_id))
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
        for tenant in tx.tenants.list_tenants():
            try:
                if tx.apps.list_apps(tenant.id, d.unseal):
                    return
            except InvalidTag:
                raise ValueError(
                    "the master key is not the one this database's app secrets were sealed with: "
                    f"use the database's own master.key (or set {ENV_MASTER_KEY})"
                ) from None


def list_for_tenant(d: Directory, tenant_id: str) -> list[App]:
    with d.reader() as r:
        return r.tx.apps.list_apps(tenant_id, d.unseal)


def issue_token(
    d: Directory,
    *,
    client_id: str,
    client_secret: str,
    narrow: Callable[[App], frozenset[str] | None] | None = None,
) -> tuple[str, int]:
    """Exchange a WPS app's client credentials for a WPS access token: ``(token, expires_in)``.

    Any other app is refused as an unknown one. ``narrow`` (the dialect's scope rule) is given the
    authenticated app and says which of its scopes the token carries (``None``: all of them, now
    and as the app's scopes change).
    """
    app = credentials_app(d, client_id, client_secret, platform=Platform.WPS)
    scopes = narrow(app) if narrow is not None else None
    expires_at = d.clock.now_int() + limits.TOKEN_TTL_SECONDS
    token = d.wps_tokens.mint(
        client_id=app.client_id, secret_version=app.secret_version, expires_at=expires_at, scopes=scopes
    )
    return token, limits.TOKEN_TTL_SECONDS


def credentials_app(d: Directory, client_id: str, client_secret: str, *, platform: Platform) -> App:
    """The app of ``platform`` these credentials belong to. An unknown client id, another platform's
    app and a wrong secret are one and the same refusal (``AuthError`` of reason ``invalid_client``)."""
    with d.reader() as r:
        app = r.app(client_id)
    if app is None or app.platform is not platform or not constant_time_equals(app.secret, client_secret):
        raise AuthError("client_id or client_secret is wrong", reason="invalid_client", field="client_id")
    return app


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
    if app is None or app.secret_version != version or app.platform is not Platform.WPS:
        raise AuthError("access_token was revoked", reason="invalid_token")
    if scopes is not None:  # narrowed when issued; never wider than the app holds now
        return dataclasses.replace(app, scopes=frozenset(s for s in scopes if holds(app.scopes, s)))
    return app


def app_by_secret(
    r: Reader, secret: str, *, platform: Platform, hint: str | None = None, search: bool = True
) -> App | None:
    """The app of ``platform`` whose client secret is ``secret``, for a platform whose bearer token is
    the secret itself (SCIM), or None. ``hint``: the client id the caller last found for this secret,
    checked first (from the cache); then, with ``search``, every tenant's apps. A rotated secret no
    longer finds its app."""
    known = r.app(hint) if hint is not None else None
    if known is not None and known.platform is platform and constant_time_equals(known.secret, secret):
        return known
    if not search:
        return None
    for tenant in r.tx.tenants.list_tenants():
        for app in r.tx.apps.list_apps(tenant.id, r.directory.unseal):
            if app.platform is platform and constant_time_equals(app.secret, secret):
                return app
    return None
