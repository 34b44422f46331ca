"""One exception hierarchy for every dialect's client.

::

    OpenrosterClientError
    ├── TransportError            the server could not be reached, or the connection broke
    ├── EventError                an incoming event or callback failed a receiver check
    │   ├── EventFormatError      a field is missing or malformed (not JSON, a key of the wrong length, ...)
    │   ├── EventSignatureError   the signature does not match the content
    │   └── EventDecryptionError  the ciphertext does not decrypt (key, padding, length, owner key)
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
"""

from __future__ import annotations

from typing import Any


class OpenrosterClientError(Exception):
    """Base of the client's errors."""


class TransportError(OpenrosterClientError):
    """The request could not be completed: connection refused, reset or timed out (after retries)."""


class EventError(OpenrosterClientError):
    """An event (WPS) or callback (DingTalk) failed one of the receiver's checks.

    A receiver answers it with a non-2xx status, so the platform retries; ``openroster.client.events``
    raises it.
    """


class EventFormatError(EventError):
    """A field is missing, of the wrong type or malformed: the body is not the JSON object the
    platform sends, a nonce is not 16 bytes, an ``aes_key`` is not 43 characters, a reply is not a
    reply."""


class EventSignatureError(EventError):
    """The signature recomputed from the content and the shared secret differs from the one sent."""


class EventDecryptionError(EventError):
    """The ciphertext is not valid under the key: not base64, not whole AES blocks, bad padding,
    a length prefix past the end, a trailer that is not the expected owner key, or a plaintext
    that is not what was expected (not JSON, not ``success``)."""


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
