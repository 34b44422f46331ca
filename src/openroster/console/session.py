"""Signing in to the console: the session cookie, CSRF tokens and the security headers of every page.

The console's one credential is the control plane's admin token (``serve --admin-token``). It
is typed once into the sign-in form (a POST body, never a URL) and exchanged for a session
cookie: ``<issued>.<nonce>.<mac>``, an HMAC under a key derived from the admin token. Every
server process holding the same admin token accepts it, with no session table to share, and a
new admin token ends every session. The cookie is HttpOnly, SameSite=Strict, Path=/console and
Secure when the page came over HTTPS; it lasts :data:`SESSION_SECONDS`.

Every state-changing request (a POST) carries a CSRF token in a form field: an HMAC of the
session's nonce, so it is different for every session and cannot be made without the key. The
sign-in form, which has no session yet, is bound the same way to a nonce in a short-lived cookie
of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from openroster.control.calls import CONSOLE_PREFIX
from openroster.core.runtime.secrets import constant_time_equals
from openroster.server.middleware import HttpMiddleware

SESSION_COOKIE = "openroster_console"
SIGN_IN_COOKIE = "openroster_console_signin"
#: How long a session lasts from sign-in.
SESSION_SECONDS = 12 * 3600
#: How long a sign-in form stays valid.
SIGN_IN_SECONDS = 3600
#: The form field every POST carries its CSRF token in.
CSRF_FIELD = "csrf"

#: Sent with every console response. No inline script and no eval (``script-src 'self'``), nothing
#: from another origin, no framing; forms post to the console only.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)


class SecurityHeaders(HttpMiddleware):
    """ASGI: :data:`SECURITY_HEADERS` on every response of the wrapped app."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    #: The CSRF token every form of this session carries.
    csrf: str


class Sessions:
    """Issues and checks sessions and CSRF tokens under a key derived from the admin token."""

    __slots__ = ("_admin_token", "_key")

    def __init__(self, admin_token: str) -> None:
        self._admin_token = admin_token
        self._key = hashlib.sha256(b"openroster console session\x00" + admin_token.encode()).digest()

    def _mac(self, purpose: str, text: str) -> str:
        return hmac.new(self._key, f"{purpose}\x00{text}".encode(), hashlib.sha256).hexdigest()

    def is_admin_token(self, typed: str) -> bool:
        return constant_time_equals(typed, self._admin_token)

    def _stamp(self, purpose: str, lifetime: int, now: float) -> tuple[str, str]:
        """A new ``(cookie value, nonce)`` for ``purpose``."""
        nonce = secrets.token_urlsafe(18)
        body = f"{int(now) + lifetime}.{nonce}"
        return f"{body}.{self._mac(purpose, body)}", nonce

    def _opened(self, purpose: str, value: str | None, now: float) -> str | None:
        """The nonce of a genuine, unexpired cookie value for ``purpose``."""
        if not value or value.count(".") != 2:
            return None
        expires, nonce, mac = value.split(".")
        genuine = hmac.compare_digest(mac.encode(), self._mac(purpose, f"{expires}.{nonce}").encode())
        return nonce if genuine and expires.isdigit() and int(expires) > now else None

    def session(self, request: Request) -> Session | None:
        nonce = self._opened("session", request.cookies.get(SESSION_COOKIE), time.time())
        return None if nonce is None else Session(nonce, self._mac("csrf", nonce))

    def start(self, request: Request, response: Response) -> None:
        value, _ = self._stamp("session", SESSION_SECONDS, time.time())
        set_cookie(request, response, SESSION_COOKIE, value, SESSION_SECONDS)
        response.delete_cookie(SIGN_IN_COOKIE, path=CONSOLE_PREFIX)

    def end(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PREFIX)

    def sign_in_form(self) -> tuple[str, str]:
        """A new sign-in form's binding: ``(cookie value, the form's CSRF token)``; the cookie goes
        out with the form (:meth:`bind_sign_in`)."""
        value, nonce = self._stamp("sign-in", SIGN_IN_SECONDS, time.time())
        return value, self._mac("sign-in-csrf", nonce)

    @staticmethod
    def bind_sign_in(request: Request, response: Response, value: str) -> None:
        set_cookie(request, response, SIGN_IN_COOKIE, value, SIGN_IN_SECONDS)

    def sign_in_csrf_ok(self, request: Request, token: str) -> bool:
        nonce = self._opened("sign-in", request.cookies.get(SIGN_IN_COOKIE), time.time())
        return nonce is not None and hmac.compare_digest(
            token.encode(), self._mac("sign-in-csrf", nonce).encode()
        )


def csrf_ok(session: Session, token: str) -> bool:
    return hmac.compare_digest(token.encode(), session.csrf.encode())


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Path=/console, Secure over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=CONSOLE_PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
