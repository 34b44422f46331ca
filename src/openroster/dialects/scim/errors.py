"""SCIM errors (RFC 7644 §3.12): the HTTP status, ``status`` again as a string, ``scimType`` where the
RFC defines one, and ``detail``; and how a core error becomes one."""

from __future__ import annotations

from enum import StrEnum

import orjson
from starlette.responses import Response

from openroster.dialects.scim import ERROR, MEDIA_TYPE
from openroster.model.errors import AuthError, Busy, CoreError, ErrorKind, Throttled


class ScimType(StrEnum):
    """The ``scimType`` values of RFC 7644 §3.12 (table 9)."""

    INVALID_FILTER = "invalidFilter"
    TOO_MANY = "tooMany"
    UNIQUENESS = "uniqueness"
    MUTABILITY = "mutability"
    INVALID_SYNTAX = "invalidSyntax"
    INVALID_PATH = "invalidPath"
    NO_TARGET = "noTarget"
    INVALID_VALUE = "invalidValue"
    INVALID_VERS = "invalidVers"
    SENSITIVE = "sensitive"


class ScimError(Exception):
    """A SCIM error reply: raised by the dialect's steps and handlers, answered by ``error_reply``."""

    def __init__(
        self, status: int, detail: str, scim_type: ScimType | None = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.retry_after = retry_after

    def response(self) -> Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        if self.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="scim"'}
        return Response(
            error_body(self.status, self.detail, self.scim_type),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers=headers,
        )


def error_body(status: int, detail: str, scim_type: ScimType | None = None) -> bytes:
    body: dict[str, object] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type is not None:
        body["scimType"] = scim_type.value
    return orjson.dumps(body)


def bad(detail: str, scim_type: ScimType = ScimType.INVALID_VALUE) -> ScimError:
    """A 400 with ``scim_type``."""
    return ScimError(400, detail, scim_type)


#: The SCIM attribute each core user field is written through (for the error's ``detail``).
SCIM_NAMES: dict[str, str] = {
    "email": "userName",
    "ex_user_id": "externalId",
    "user_name": "displayName",
    "employee_id": "employeeNumber",
    "leader_id": "manager",
    "phone": 'phoneNumbers[type eq "mobile"]',
    "telephone": 'phoneNumbers[type eq "work"]',
    "title": "title",
}

_STATUS: dict[ErrorKind, tuple[int, ScimType | None]] = {
    ErrorKind.INVALID_VALUE: (400, ScimType.INVALID_VALUE),
    ErrorKind.MISSING_FIELD: (400, ScimType.INVALID_VALUE),
    ErrorKind.TOO_MANY: (400, ScimType.TOO_MANY),
    ErrorKind.UNKNOWN_ATTRIBUTE: (400, ScimType.INVALID_VALUE),
    ErrorKind.ATTRIBUTE_VALUE_MISMATCH: (400, ScimType.INVALID_VALUE),
    ErrorKind.BROKEN_REFERENCE: (400, ScimType.INVALID_VALUE),
    ErrorKind.RULE_VIOLATION: (400, ScimType.INVALID_VALUE),
    ErrorKind.NOT_FOUND: (404, None),
    ErrorKind.CONFLICT: (409, ScimType.UNIQUENESS),
    ErrorKind.AUTH: (401, None),
    ErrorKind.SCOPE_MISSING: (403, None),
    ErrorKind.THROTTLED: (429, None),
    ErrorKind.BUSY: (503, None),
}


def from_core(exc: CoreError) -> ScimError:
    """The SCIM error for a core error, from its kind and field (never its message's text)."""
    status, scim_type = _STATUS[exc.kind]
    field = exc.item_field[1] if exc.item_field is not None else exc.field
    name = SCIM_NAMES.get(field or "")
    detail = f"{name}: {exc.detail}" if name is not None else exc.message
    if isinstance(exc, AuthError):
        detail = "the bearer token is not valid"
    retry = round(exc.retry_after) + 1 if isinstance(exc, (Throttled, Busy)) else None
    return ScimError(status, detail, scim_type, retry_after=retry)
