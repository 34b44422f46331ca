"""WPS authentication: the token endpoint, bearer tokens and request signatures."""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response

from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.core.tenancy import apps
from openroster.dialects.base import credential_attempt
from openroster.dialects.wps import GATEWAYS, signing
from openroster.dialects.wps.endpoint import holds_scope
from openroster.dialects.wps.errors import Code, WpsError, from_core
from openroster.model.entities import App, Signing
from openroster.model.errors import CoreError, Throttled

#: The gateway prefixes private deployments put in front of ``/v7``; never signed.
GATEWAY_PREFIXES: tuple[bytes, ...] = tuple(g.encode() for g in GATEWAYS)

_SCHEME_OF: dict[Signing, str] = {
    Signing.KSO1: signing.KSO1,
    Signing.WPS4: signing.WPS4,
    Signing.WPS4GM: signing.WPS4GM,
}


def signed_uri(raw_path: bytes, query_string: bytes) -> str:
    """The URI a client signs: the path without gateway prefix, with the query as sent."""
    for prefix in GATEWAY_PREFIXES:
        if raw_path.startswith(prefix + b"/"):
            raw_path = raw_path[len(prefix) :]
            break
    uri = raw_path.decode("latin-1")
    if query_string:
        uri += "?" + query_string.decode("latin-1")
    return uri


def authenticate(request: Request, body: bytes, r: Reader) -> App:
    """The app making this call, after checking its bearer token and (if on) its signature."""
    header = request.headers.get("authorization")
    if not header:
        raise WpsError(Code.TOKEN_MISSING, "Authorization header is missing: send 'Bearer {access_token}'")
    kind, _, token = header.partition(" ")
    token = token.strip()
    if kind.lower() != "bearer" or not token:
        raise WpsError(Code.TOKEN_MISSING, "Authorization header must be 'Bearer {access_token}'")
    try:
        app = apps.authenticate(r, token, holds=holds_scope)
    except CoreError as exc:
        raise from_core(exc) from None
    if app.signing is not Signing.NONE:
        verify_signature(request, body, app, now=r.directory.clock.now())
    return app


def verify_signature(request: Request, body: bytes, app: App, *, now: float) -> None:
    expected = _SCHEME_OF[app.signing]
    names = signing.HEADERS[expected]
    headers = request.headers
    value = headers.get(names.authorization)
    if value is None:
        other = next(
            (
                n
                for s, n in signing.HEADERS.items()
                if n.authorization != names.authorization and s != expected
            ),
            None,
        )
        if other is not None and headers.get(other.authorization) is not None:
            raise WpsError(
                Code.SIGNATURE_SCHEME_WRONG,
                f"{other.authorization}: app {app.client_id!r} signs requests with {expected}, "
                f"send {names.authorization}",
            )
        raise WpsError(
            Code.SIGNATURE_MISSING,
            f"{names.authorization} is required: app {app.client_id!r} signs requests with {expected}",
        )
    parsed = signing.parse_authorization(value)
    if parsed is None:
        raise WpsError(
            Code.SIGNATURE_MISMATCH,
            f"sign check fail: {names.authorization} must be '{expected} {{accessKey}}:{{signature}}'",
        )
    scheme, access_key, sig = parsed
    if scheme != expected:
        raise WpsError(
            Code.SIGNATURE_SCHEME_WRONG,
            f"{names.authorization}: app {app.client_id!r} signs requests with {expected}, not {scheme}",
        )
    if not hmac.compare_digest(access_key.encode(), app.client_id.encode()):
        raise WpsError(
            Code.SIGNATURE_MISMATCH,
            f"sign check fail: {names.authorization} access key does not belong to the token's app",
        )
    date = headers.get(names.date)
    if date is None:
        raise WpsError(Code.SIGNATURE_MISSING, f"{names.date} is required with {expected} signatures")
    moment = signing.parse_date(date)
    if moment is None:
        raise WpsError(
            Code.SIGNATURE_DATE_INVALID,
            f"{names.date}: {date!r} is not an RFC 1123 date such as 'Wed, 23 Jan 2013 06:43:08 GMT'",
        )
    skew = abs(moment.timestamp() - now)
    if skew > limits.SIGNATURE_WINDOW_SECONDS:
        raise WpsError(
            Code.SIGNATURE_DATE_EXPIRED,
            f"{names.date}: {date!r} is {skew:.3f} s away from the server's clock "
            f"({datetime.fromtimestamp(now, UTC):%Y-%m-%dT%H:%M:%SZ}); "
            f"the limit is {limits.SIGNATURE_WINDOW_SECONDS} s",
        )
    uri = signed_uri(
        request.scope.get("raw_path") or request.scope["path"].encode(), request.scope["query_string"]
    )
    content_type = headers.get("content-type", "")
    if body and not signing.body_hash(expected, content_type, body):
        # WPS-4 and WPS-4-GM leave out of the signature a body that is neither JSON nor a form:
        # accepting one would let anyone who saw a signed request send another body under it.
        raise WpsError(
            Code.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {content_type!r}: {expected} signs a body only when it is application/json "
            "or a form; send the body as application/json",
        )
    want = signing.signature(expected, app.secret, request.method, uri, content_type, date, body)
    if not hmac.compare_digest(want.encode(), sig.encode()):
        # The platform's words first (clients match on them), then what the
        # server signed, so a developer can see which part differs.
        raise WpsError(
            Code.SIGNATURE_MISMATCH,
            f"sign check fail: authorization mismatch: {names.authorization} is not the {expected} "
            f"signature of {request.method} {uri} with Content-Type {content_type!r}, "
            f"{names.date} {date!r} and {_body_part(expected, body)}",
        )


def _body_part(scheme: str, body: bytes) -> str:
    if not body:
        return "an empty body (empty hash)"
    return f"the {'SM3' if scheme == signing.WPS4GM else 'SHA-256'} of the {len(body)}-byte body"


async def token_endpoint(request: Request) -> Response:
    """``POST /oauth2/token``: client_credentials, form-encoded, answered like the platform."""
    d: Directory = request.app.state.directory
    try:
        body = await request.body()
        form = _form(request, body)
        grant = form.get("grant_type")
        if not grant:
            raise WpsError(Code.INVALID_REQUEST, "invalid_request: grant_type is required")
        if grant != "client_credentials":
            raise WpsError(
                Code.UNSUPPORTED_GRANT_TYPE,
                f"unsupported_grant_type: grant_type {grant!r} is not supported; use client_credentials",
            )
        client_id, client_secret = _client_credentials(request, form)
        wanted = frozenset(form.get("scope", "").replace(",", " ").split())

        def narrow(app: App) -> frozenset[str] | None:
            """RFC 6749 §3.3: a token asked for with ``scope`` carries those scopes only."""
            if not wanted:
                return None
            missing = sorted(s for s in wanted if not holds_scope(app.scopes, s))
            if missing:
                raise WpsError(
                    Code.INVALID_SCOPE, f"invalid_scope: the app does not hold {', '.join(missing)}"
                )
            return wanted

        try:
            token, expires_in = credential_attempt(
                request,
                lambda: apps.issue_token(d, client_id=client_id, client_secret=client_secret, narrow=narrow),
                client_id=client_id,
            )
        except Throttled as exc:
            raise from_core(exc) from None
        except CoreError as exc:
            raise WpsError(Code.CLIENT_INVALID, f"invalid_client: {exc.message}") from None
    except WpsError as exc:
        return Response(
            orjson.dumps({"code": int(exc.code), "msg": exc.msg}),
            status_code=exc.code.http_status,
            media_type="application/json",
            headers=exc.headers,
        )
    return Response(
        orjson.dumps({"access_token": token, "expires_in": expires_in, "token_type": "bearer"}),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _form(request: Request, body: bytes) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise WpsError(
            Code.INVALID_REQUEST,
            "invalid_request: the body must be application/x-www-form-urlencoded "
            "(grant_type=client_credentials&client_id=...&client_secret=...)",
        )
    try:
        parsed = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=32
        )
    except (UnicodeDecodeError, ValueError):
        raise WpsError(Code.INVALID_REQUEST, "invalid_request: the form body cannot be parsed") from None
    out: dict[str, str] = {}
    for key, values in parsed.items():
        if len(values) > 1:
            raise WpsError(Code.INVALID_REQUEST, f"invalid_request: {key} is given more than once")
        out[key] = values[0]
    return out


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise WpsError(
                Code.INVALID_REQUEST, "invalid_request: the Basic Authorization header is malformed"
            ) from None
        cid, sep, sec = raw.partition(":")
        if sep:
            # RFC 6749 §2.3.1: one client authentication method per request.
            if "client_secret" in form or form.get("client_id", cid) != cid:
                raise WpsError(
                    Code.INVALID_REQUEST,
                    "invalid_request: the client authenticates twice: send the credentials either as "
                    "HTTP Basic Authorization or as client_id and client_secret in the body, not both",
                )
            return cid, sec
    cid = form.get("client_id", "")
    sec = form.get("client_secret", "")
    if not cid:
        raise WpsError(Code.INVALID_REQUEST, "invalid_request: client_id is required")
    if not sec:
        raise WpsError(Code.INVALID_REQUEST, "invalid_request: client_secret is required")
    return cid, sec
