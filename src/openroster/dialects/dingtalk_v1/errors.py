"""``/v1.0`` errors: an HTTP 4xx / 5xx status and ``{code, message, requestid}``.

``requestid`` is spelled in lower case; a permission error adds ``accessdenieddetail``. The message
is the platform's text, then what openroster found, naming the field (docs/dingtalk-v1.md has the
table). The official SDK raises a ``TeaException`` whose ``code`` is the body's ``code`` and whose
``statusCode`` is the HTTP status.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from openroster.dialects.ids import upper_uuids
from openroster.model import errors as core

MISSING_TOKEN = "AuthenticationFailed.MissingParameter"  # noqa: S105  (an error code)
INVALID_TOKEN = "InvalidAuthentication"  # noqa: S105  (an error code)
PERMISSION_DENIED = "Forbidden.AccessDenied.AccessTokenPermissionDenied"
THROTTLED = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
NOT_FOUND = "InvalidAction.NotFound"
SYSTEM_ERROR = "systemError"
INVALID_PARAMETER = "invalidParameter"
INVALID_CLIENT = "invalidClientIdOrSecret"
MISSING_BODY = "Missingbody"

#: The platform's text of each code openroster raises itself, and its HTTP status.
TEXT: dict[str, tuple[int, str]] = {
    MISSING_TOKEN: (400, "缺少参数：x-acs-dingtalk-access-token"),
    INVALID_TOKEN: (400, "不合法的access_token"),
    PERMISSION_DENIED: (403, "应用尚未开通所需的权限"),
    THROTTLED: (403, "当前应用调用该接口的频率超过上限，请稍后再试"),
    NOT_FOUND: (404, "Specified api is not found, please check your url and method."),
    SYSTEM_ERROR: (500, "系统错误"),
    INVALID_PARAMETER: (400, "参数错误"),
    INVALID_CLIENT: (400, "无效的clientId或者clientSecret"),
    MISSING_BODY: (400, "body is mandatory for this action"),
    "invalidAgentId": (400, "agentId错误"),
    "parameter.error": (400, "参数错误"),
    "noPermission": (400, "没有权限"),
}

#: The code an injected fault's numeric code (``control/faults.py``, the ``/topapi`` numbers) stands for.
FAULT_CODES: dict[int, str] = {90002: THROTTLED, 90005: THROTTLED, 90018: THROTTLED, 429: THROTTLED}


#: A request id in the platform's shape (an upper-case UUID): ``new_request_id()``.
new_request_id = upper_uuids()


class V1Error(Exception):
    """An error reply: ``code`` (the platform's string), the HTTP status (the code's by default),
    ``detail`` after the platform's text, and ``accessdenieddetail`` on permission errors."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        status: int | None = None,
        text: str | None = None,
        access_denied: dict[str, Any] | None = None,
    ) -> None:
        known = TEXT.get(code, (400, code))
        super().__init__(detail or known[1])
        self.code = code
        self.status = status or known[0]
        platform = text if text is not None else known[1]
        self.message = f"{platform}: {detail}" if detail else platform
        self.access_denied = access_denied

    def payload(self, request_id: str | None) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.access_denied is not None:
            body["accessdenieddetail"] = self.access_denied
        body["requestid"] = request_id or new_request_id()
        return body

    def body(self, request_id: str | None) -> bytes:
        return orjson.dumps(self.payload(request_id))

    def response(self, request_id: str | None) -> Response:
        return Response(self.body(request_id), status_code=self.status, media_type="application/json")


def permission_denied(scope: str) -> V1Error:
    return V1Error(PERMISSION_DENIED, f"the app lacks {scope}", access_denied={"requiredScopes": [scope]})


def from_core(exc: core.CoreError, *, invalid: str = INVALID_PARAMETER) -> V1Error:
    """The ``/v1.0`` error for a core error, by its kind; ``invalid`` is the call's own code for a bad
    parameter (``invalidParameter``, ``parameter.error``, ...). The message names the field."""
    if isinstance(exc, core.AuthError):
        if exc.reason == "invalid_client":
            return V1Error(INVALID_CLIENT)
        return V1Error(INVALID_TOKEN, exc.message)
    if isinstance(exc, core.Throttled):
        return V1Error(THROTTLED, exc.message)
    if isinstance(exc, core.Busy):
        return V1Error(SYSTEM_ERROR, exc.message)
    if isinstance(exc, core.ScopeMissing):
        return permission_denied(exc.scope)
    return V1Error(invalid, exc.message)
