"""WPS error codes and the ``{code, msg, data}`` envelope.

Codes are 8 digits: the HTTP status followed by a 5-digit sub-code. The three
codes known from the platform (40000001, 40000005, 40100001) keep their
meaning; docs/wps.md lists the whole table. Every message names the field or
item at fault.
"""

from __future__ import annotations

import math
from enum import IntEnum

import orjson
from starlette.responses import Response

from openroster.model import errors as core


class Code(IntEnum):
    OK = 0
    INVALID_REQUEST = 40000001  # malformed body: not JSON, not an object, bad form
    INVALID_VALUE = 40000002  # a field has the wrong type, format or value
    MISSING_FIELD = 40000003  # a required field is absent or empty
    TOO_MANY = 40000004  # a list is longer than its documented limit
    INVALID_SCOPE = 40000005  # token request for a scope the app does not hold
    UNSUPPORTED_GRANT_TYPE = 40000006
    UNKNOWN_ATTRIBUTE = 40000007  # attr_id the tenant does not define
    ATTRIBUTE_VALUE_MISMATCH = 40000008  # value not allowed by the attribute's definition
    BROKEN_REFERENCE = 40000009  # refers to a user / department not in the tenant
    RULE_VIOLATION = 40000010  # a directory rule forbids the change
    SIGNATURE_MISMATCH = 40100001  # "sign check fail: authorization mismatch"
    TOKEN_MISSING = 40100002
    TOKEN_INVALID = 40100003
    TOKEN_EXPIRED = 40100004
    SIGNATURE_MISSING = 40100005
    SIGNATURE_DATE_INVALID = 40100006
    SIGNATURE_DATE_EXPIRED = 40100007
    SIGNATURE_SCHEME_WRONG = 40100008
    CLIENT_INVALID = 40100009
    SCOPE_MISSING = 40300001
    NOT_FOUND = 40400001  # no such route
    USER_NOT_FOUND = 40400002
    DEPT_NOT_FOUND = 40400003
    RESOURCE_NOT_FOUND = 40400004
    METHOD_NOT_ALLOWED = 40500001
    REQUEST_TIMEOUT = 40800001  # the head or body did not arrive in time
    CONFLICT = 40900001  # a unique value is already taken
    BODY_TOO_LARGE = 41300001
    UNSUPPORTED_MEDIA_TYPE = 41500001
    HEADERS_TOO_LARGE = 43100001  # request line and headers above 64 KiB
    THROTTLED = 42900001
    INTERNAL = 50000001
    UNAVAILABLE = 50300001

    @property
    def http_status(self) -> int:
        return http_status(self.value)


def http_status(code: int) -> int:
    """The HTTP status of a reply with ``code``: the first three of its 8 digits (else 200)."""
    status = code // 100000
    return status if 10_000_000 <= code <= 99_999_999 and 100 <= status <= 599 else 200


#: The ``msg`` of the codes an injected fault (``control/faults.py``) typically imitates.
FAULT_MESSAGES: dict[int, str] = {
    42900001: "too many requests: the rate limit is exceeded; retry later",
    50000001: "internal error",
    50300001: "service unavailable; retry later",
}


class WpsError(Exception):
    def __init__(self, code: Code, msg: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.headers = headers

    def response(self) -> Response:
        return error_response(self.code, self.msg, headers=self.headers)


def envelope(code: int, msg: str) -> bytes:
    """The ``{code, msg, data}`` body of an error reply."""
    return orjson.dumps({"code": code, "msg": msg, "data": None})


def error_response(code: Code | int, msg: str, *, headers: dict[str, str] | None = None) -> Response:
    c = Code(code)
    return Response(
        envelope(int(c), msg), status_code=c.http_status, media_type="application/json", headers=headers
    )


_AUTH_REASONS = {
    "invalid_token": Code.TOKEN_INVALID,
    "expired_token": Code.TOKEN_EXPIRED,
    "invalid_client": Code.CLIENT_INVALID,
}


#: The code of each kind of core error (``NOT_FOUND`` and ``AUTH`` depend on more: see :func:`from_core`).
_KIND_CODES = {
    core.ErrorKind.INVALID_VALUE: Code.INVALID_VALUE,
    core.ErrorKind.MISSING_FIELD: Code.MISSING_FIELD,
    core.ErrorKind.TOO_MANY: Code.TOO_MANY,
    core.ErrorKind.UNKNOWN_ATTRIBUTE: Code.UNKNOWN_ATTRIBUTE,
    core.ErrorKind.ATTRIBUTE_VALUE_MISMATCH: Code.ATTRIBUTE_VALUE_MISMATCH,
    core.ErrorKind.BROKEN_REFERENCE: Code.BROKEN_REFERENCE,
    core.ErrorKind.CONFLICT: Code.CONFLICT,
    core.ErrorKind.RULE_VIOLATION: Code.RULE_VIOLATION,
    core.ErrorKind.SCOPE_MISSING: Code.SCOPE_MISSING,
}
#: What was not found -> its code (anything else is a resource).
_NOT_FOUND_CODES: dict[core.Entity | None, Code] = {
    core.Entity.USER: Code.USER_NOT_FOUND,
    core.Entity.DEPARTMENT: Code.DEPT_NOT_FOUND,
}


def throttled(msg: str, *, retry_after: float, code: Code = Code.THROTTLED) -> WpsError:
    """HTTP 429, ``42900001`` (or ``code``), with ``Retry-After`` in whole seconds (at least 1)."""
    return WpsError(code, msg, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


def from_core(exc: core.CoreError) -> WpsError:
    """The WPS error for a core error, by its kind and what it is about; the message names the field."""
    code: Code
    if isinstance(exc, core.Throttled):
        return throttled(exc.message, retry_after=exc.retry_after)
    if isinstance(exc, core.Busy):  # HTTP 503
        return throttled(exc.message, retry_after=exc.retry_after, code=Code.UNAVAILABLE)
    if isinstance(exc, core.AuthError):
        code = _AUTH_REASONS.get(exc.reason, Code.TOKEN_INVALID)
    elif exc.kind is core.ErrorKind.NOT_FOUND:
        code = _NOT_FOUND_CODES.get(exc.entity, Code.RESOURCE_NOT_FOUND)
    else:
        code = _KIND_CODES.get(exc.kind, Code.INVALID_VALUE)
    return WpsError(code, exc.message)
