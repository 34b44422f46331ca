"""What every reply of a platform endpoint must look like, whatever was sent.

- never a 5xx, always JSON;
- a WPS path answers in ``{code, msg, data}`` (the token endpoint in ``{code, msg}`` or with a
  token), with ``code`` 0 exactly when the status is 200 and otherwise the 8-digit code whose
  first three digits are the status;
- a DingTalk path answers HTTP 200 with ``{errcode, errmsg, ...}`` and, on ``/topapi``, a
  ``request_id``;
- a DingTalk ``/v1.0`` path answers a JSON object with HTTP 200, or a 4xx with
  ``{code, message, requestid}`` (the code a string);
- a SCIM path answers ``application/scim+json`` (204: no body), a 4xx with RFC 7644's error body:
  its schema, ``status`` as a string equal to the HTTP status, a ``detail``;
- no reply shows a stack trace, a driver's or SQLAlchemy's name, or SQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from openroster.dialects.dingtalk.dialect import DINGTALK
from openroster.dialects.dingtalk_v1.dialect import DINGTALK_V1
from openroster.dialects.wps import TOKEN_PATHS

#: What an internal detail looks like in a reply.
INTERNALS = re.compile(
    rb"Traceback|File \"[^\"]*\", line|sqlalchemy|sqlite3|psycopg|OperationalError|IntegrityError"
    rb"|ProgrammingError|DataError|\bSELECT\b.{0,200}\bFROM\b|INSERT INTO|\bUPDATE\b \w+ \bSET\b"
    rb"|DELETE FROM|site-packages",
    re.IGNORECASE | re.DOTALL,
)


def _strip_scheme(path: str) -> str:
    return path.split("?", 1)[0]


def is_dingtalk(path: str) -> bool:
    return DINGTALK.owns(_strip_scheme(path))


def is_dingtalk_v1(path: str) -> bool:
    return DINGTALK_V1.owns(_strip_scheme(path))


def is_scim(path: str) -> bool:
    return _strip_scheme(path).startswith("/scim/v2/")


SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _check_scim(status: int, ctype: str | None, body: bytes, where: str) -> dict[str, Any]:
    if status == 204:
        assert body == b"", where
        return {}
    assert ctype is not None and ctype.startswith("application/scim+json"), f"content type {ctype}: {where}"
    reply = orjson.loads(body)
    assert isinstance(reply, dict), where
    if status >= 400:
        assert reply.get("schemas") == [SCIM_ERROR], where
        assert reply.get("status") == str(status) and reply.get("detail"), where
    return reply


def internals_in(body: bytes, sent: bytes = b"") -> list[bytes]:
    """Internal details in a reply, except those the request itself carried (messages echo values)."""
    seen = sent.lower()
    return [m.group(0)[:80] for m in INTERNALS.finditer(body) if m.group(0).lower() not in seen]


def check_reply(
    path: str, status: int, headers: Mapping[str, Any], body: bytes, *, sent: bytes = b""
) -> dict[str, Any]:
    """Assert the rules above for one reply to ``path`` (``sent``: the request's bytes); return the body."""
    where = f"{path} -> HTTP {status}: {body[:300]!r}"
    assert status < 500, f"server error: {where}"
    leaks = internals_in(body, sent)
    assert not leaks, f"internal details {leaks} in the reply: {where}"
    ctype = headers.get("content-type")
    ctype = ctype[0] if isinstance(ctype, list) else ctype
    if is_scim(path):
        return _check_scim(status, None if ctype is None else str(ctype), body, where)
    assert ctype is not None and str(ctype).startswith("application/json"), f"content type {ctype}: {where}"
    reply = orjson.loads(body)
    assert isinstance(reply, dict), where
    if is_dingtalk(path):
        assert status == 200, f"DingTalk replies are HTTP 200: {where}"
        assert isinstance(reply.get("errcode"), int) and isinstance(reply.get("errmsg"), str), where
        if reply["errcode"] != 0 and _strip_scheme(path).startswith("/topapi/"):
            assert isinstance(reply.get("request_id"), str), where
        return reply
    if is_dingtalk_v1(path):
        if status != 200:
            assert 400 <= status < 500, where
            assert isinstance(reply.get("code"), str) and isinstance(reply.get("message"), str), where
            assert isinstance(reply.get("requestid"), str), where
        return reply
    if _strip_scheme(path) in TOKEN_PATHS and status == 200:
        assert isinstance(reply.get("access_token"), str), where
        return reply
    assert isinstance(reply.get("code"), int) and isinstance(reply.get("msg"), str), where
    if _strip_scheme(path) not in TOKEN_PATHS:
        assert "data" in reply, where
    if reply["code"] == 0:
        assert status == 200, where
    else:
        assert reply["code"] // 100000 == status, f"code {reply['code']} with HTTP {status}: {where}"
        assert reply["msg"], f"an error without a message: {where}"
    return reply


def check_control_reply(status: int, headers: Mapping[str, Any], body: bytes, *, sent: bytes = b"") -> None:
    """The control plane's rules (docs/emulator.md): never a 5xx, nothing internal shown, and every
    4xx in its error body ``{"error": {"code", "message", "field"}}``."""
    where = f"{sent[:300]!r} -> HTTP {status}: {body[:300]!r}"
    assert status < 500, f"server error: {where}"
    leaks = internals_in(body, sent)
    assert not leaks, f"internal details {leaks} in the reply: {where}"
    if status < 400:
        return
    ctype = headers.get("content-type")
    ctype = ctype[0] if isinstance(ctype, list) else ctype
    assert ctype is not None and str(ctype).startswith("application/json"), f"content type {ctype}: {where}"
    reply = orjson.loads(body)
    assert isinstance(reply, dict) and set(reply) == {"error"}, where
    error = reply["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "field"}, where
    assert isinstance(error["code"], str) and error["code"], where
    assert isinstance(error["message"], str) and error["message"], where
    assert error["field"] is None or isinstance(error["field"], str), where


def raw_reply(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of an HTTP/1.1 reply read off a socket."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), raw[:200]
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def server_log_problems(text: str) -> list[str]:
    """Lines of a server log that show an unhandled error."""
    return [
        line
        for line in text.splitlines()
        if "Traceback" in line or "internal error" in line or "Exception in ASGI" in line
    ]
