"""One exception hierarchy for every dialect's client.

::

    OpenrosterClientError
    ├── TransportError            the server could not be reached, or the connection broke
    └── ApiError                  the platform answered with a non-zero code
        ├── InvalidRequestError   bad parameters (WPS 400xxxxx, DingTalk 40035, 400002, ...)
        ├── AuthenticationError   token, signature or credentials refused (WPS 401xxxxx, DingTalk 40014, ...)
        ├── PermissionDeniedError the app lacks a scope or permission (WPS 403xxxxx, DingTalk 60011, ...)
        ├── NotFoundError         the user, department or route does not exist (WPS 404xxxxx, DingTalk 33012)
        ├── ConflictError         a unique value is already taken (WPS 409xxxxx)
        ├── ThrottledError        too many calls (HTTP 429, WPS 429xxxxx, DingTalk 90002, 90005, 90018)
        └── ServerError           the platform failed (HTTP 5xx, WPS 500xxxxx, DingTalk -1)

Every :class:`ApiError` carries the platform's ``code`` (WPS ``code`` or DingTalk
``errcode``), its ``message``, the HTTP status, the ``request_id`` when the
platform sent one, and the whole parsed ``reply``.

The module also exports the errors of receiving events (:mod:`openroster.client.events`):
:class:`EventError` and its subclasses :class:`EventFormatError`, :class:`EventSignatureError`
and :class:`EventDecryptionError`. They do not derive from :class:`OpenrosterClientError`: the
server's senders raise them too, so they are defined below the SDK
(``openroster.dialects.event_wire``) and derive from :class:`ValueError`. Catch both families
with ``except (OpenrosterClientError, EventError)``.
"""

from __future__ import annotations

from typing import Any

from openroster.dialects import event_wire

# The errors of receiving events, defined below the SDK (see the module's docstring).
EventError = event_wire.EventError
EventFormatError = event_wire.EventFormatError
EventSignatureError = event_wire.EventSignatureError
EventDecryptionError = event_wire.EventDecryptionError


class OpenrosterClientError(Exception):
    """Base of the client's errors."""


class TransportError(OpenrosterClientError):
    """The request could not be completed: connection refused, reset or timed out (after retries)."""


class ApiError(OpenrosterClientError):
    """The platform answered with a non-zero code."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        http_status: int,
        request_id: str | None = None,
        platform: str = "wps",
        sub_code: str | None = None,
        retry_after: float | None = None,
        reply: dict[str, Any] | None = None,
    ) -> None:
        where = f" (request {request_id})" if request_id else ""
        sub = f" [sub_code {sub_code}]" if sub_code else ""
        super().__init__(f"{platform} {code}{sub}: {message}{where}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.platform = platform
        self.sub_code = sub_code
        self.retry_after = retry_after
        self.reply = reply or {}


class InvalidRequestError(ApiError):
    """The request's parameters or body were refused."""


class AuthenticationError(ApiError):
    """The credentials, the token or the request signature were refused."""


class PermissionDeniedError(ApiError):
    """The app lacks a scope or permission the call needs."""


class NotFoundError(ApiError):
    """The addressed user, department or endpoint does not exist."""


class ConflictError(ApiError):
    """A value that must be unique is already taken."""


class ThrottledError(ApiError):
    """The platform refused the call because of a rate limit; ``retry_after`` says when to come back."""


class ServerError(ApiError):
    """The platform failed to answer the call."""


def error_class(statuses: tuple[int, ...], by_code: type[ApiError]) -> type[ApiError]:
    """The exception for an error reply: :class:`ThrottledError` when one of ``statuses`` (the HTTP
    status, and the one the platform's code names, if any) is 429, :class:`ServerError` when one is
    5xx, else ``by_code`` (what the platform's code says)."""
    if 429 in statuses:
        return ThrottledError
    if any(s >= 500 for s in statuses):
        return ServerError
    return by_code
