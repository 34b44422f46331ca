"""DingTalk access tokens: stored, shared by every server process, checked from memory.

DingTalk clients expect ``gettoken`` asked again inside a token's window to
hand out the *same* token, with its lifetime extended; so, unlike the WPS
dialect's self-contained tokens, these live in the database: sealed with the
master key and found by a keyed hash, so a copy of the database alone reveals
none. Any server process on the same database accepts any of them.

Checking a token on every call must not cost a database round trip. Each
process remembers what it has seen (token -> app, tenant, expiry); a
remembered expiry still in the future is trusted, and only an expired or
unknown token is looked up again (another process may have extended or issued
it). Rotating the app's secret revokes its tokens at once: every check
compares the token's secret version with the app's, which the directory cache
keeps current across processes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _random
import weakref
from dataclasses import dataclass

from openroster.core.directory import Directory, Reader
from openroster.core.tenancy import apps
from openroster.model.entities import App, IssuedToken, Platform
from openroster.model.errors import AuthError

#: Lifetime of a DingTalk access token, in seconds (extended by every ``gettoken``).
TTL_SECONDS = 7200
#: Expired tokens are forgotten this long after they expire (until then they answer "expired").
KEEP_EXPIRED_SECONDS = 86_400
#: Tokens each process remembers before it starts over.
_CACHE_MAX = 100_000


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a valid token stands for."""

    client_id: str
    tenant_id: str
    corp_id: str
    secret_version: int
    expires_at: int


class _Known:
    __slots__ = ("grants", "key")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.grants: dict[str, TokenGrant] = {}

    def remember(self, token: str, grant: TokenGrant) -> None:
        if len(self.grants) >= _CACHE_MAX:
            self.grants.clear()
        self.grants[token] = grant


_known: weakref.WeakKeyDictionary[Directory, _Known] = weakref.WeakKeyDictionary()


def _state(d: Directory) -> _Known:
    state = _known.get(d)
    if state is None:
        state = _known[d] = _Known(d.master_key.derive("dingtalk-access-token"))
    return state


def _hash(state: _Known, token: str) -> str:
    return hmac.new(state.key, token.encode(), hashlib.sha256).hexdigest()


def _context(client_id: str) -> str:
    return f"dingtalk-token:{client_id}"


def issue(d: Directory, *, appkey: str, appsecret: str) -> tuple[str, int]:
    """``gettoken``: the app's live token (its lifetime extended) or a new one; ``(token, expires_in)``."""
    try:
        app = apps.credentials_app(d, appkey, appsecret, platform=Platform.DINGTALK)
    except AuthError:
        raise AuthError("appkey or appsecret is wrong", reason="invalid_client", field="appkey") from None
    with d.reader() as r:
        corp_id = _corp_id(r, app)
    state = _state(d)
    now = d.clock.now_int()
    expires_at = now + TTL_SECONDS
    with d.writer() as tx:
        tx.tokens.lock_app(app.client_id)
        live = tx.tokens.latest_for_app(app.client_id)
        if live is not None and live.expires_at > now and live.secret_version == app.secret_version:
            token = d.master_key.unseal(live.token_sealed, context=_context(app.client_id))
            tx.tokens.extend(live.token_hash, expires_at)
        else:
            token = _random.token_hex(16)
            tx.tokens.insert_token(
                IssuedToken(
                    token_hash=_hash(state, token),
                    client_id=app.client_id,
                    tenant_id=app.tenant_id,
                    token_sealed=d.master_key.seal(token, context=_context(app.client_id)),
                    secret_version=app.secret_version,
                    expires_at=expires_at,
                ),
                ctime=now,
            )
        tx.tokens.prune(app.client_id, expired_before=now - KEEP_EXPIRED_SECONDS)
    state.remember(token, TokenGrant(app.client_id, app.tenant_id, corp_id, app.secret_version, expires_at))
    return token, TTL_SECONDS


def _corp_id(r: Reader, app: App) -> str:
    tenant = r.tx.tenants.get_tenant(app.tenant_id)
    return (tenant.dingtalk_corp_id or "") if tenant is not None else ""


def authenticate(r: Reader, token: str) -> tuple[App, TokenGrant]:
    """The app and grant behind ``token``.

    Raises :class:`AuthError` with reason ``invalid_token`` (unknown, or
    revoked by a secret rotation) or ``expired_token``.
    """
    d = r.directory
    state = _state(d)
    now = d.clock.now()
    grant = state.grants.get(token)
    if grant is None or grant.expires_at <= now:
        row = r.tx.tokens.get(_hash(state, token)) if 0 < len(token) <= 128 else None
        if row is None:
            state.grants.pop(token, None)
            raise AuthError("access_token is not a token this server issued", reason="invalid_token")
        grant = TokenGrant(
            row.client_id, row.tenant_id, row.corp_id or "", row.secret_version, row.expires_at
        )
        if grant.expires_at <= now:
            state.grants.pop(token, None)
            raise AuthError("access_token has expired", reason="expired_token")
        state.remember(token, grant)
    app = r.app(grant.client_id)
    if app is None or app.secret_version != grant.secret_version or app.platform is not Platform.DINGTALK:
        raise AuthError(
            "access_token was revoked (the app's secret changed, or it is a WPS app now)",
            reason="invalid_token",
        )
    return app, grant


def client_id_of(r: Reader, token: str) -> str | None:
    """The app a token was issued to, expired or not (the request journal names the app of every call)."""
    state = _state(r.directory)
    grant = state.grants.get(token)
    if grant is not None:
        return grant.client_id
    row = r.tx.tokens.get(_hash(state, token)) if 0 < len(token) <= 128 else None
    return row.client_id if row is not None else None


def caller_of(d: Directory, token: str | None) -> str | None:
    """:func:`client_id_of` outside a request's read (the journal and fault rules); None without a
    token. A token this process has seen names its app without a read: a token never changes
    app, so the store's poll and read (one of each for every call the journal moves) would tell
    nothing more."""
    if not token:
        return None
    grant = _state(d).grants.get(token)
    if grant is not None:
        return grant.client_id
    with d.reader() as r:
        return client_id_of(r, token)
