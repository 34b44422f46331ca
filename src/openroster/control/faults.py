"""Fault rules: make the platform misbehave on purpose.

A rule matches platform calls by dialect, method, path (exact or a glob where
``*`` also crosses ``/``; WPS gateway prefixes are ignored), app, tenant and a
substring of the request body. When it fires (with its ``probability``, while
it has ``times`` left) it acts:

- ``error``: the dialect's own error reply with the given platform ``code``
  (WPS ``{"code", "msg", "data"}`` with the HTTP status the 8-digit code
  starts with; DingTalk ``{"errcode", "errmsg"}`` with HTTP 200), and a
  ``Retry-After`` header when ``retry_after`` is set (WPS 429xxxxx codes send
  one of 1 s by default);
- ``http``: a bare HTTP error (``status``, e.g. 500 or 503) as a gateway sends;
- ``latency``: waits ``latency_ms``, then the call goes on as usual;
- ``close``: closes the connection without a reply.

``latency_ms`` also delays the other actions. The first rule that fires wins.
Fault replies carry ``X-Openroster-Fault: <rule id>``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from openroster.control.calls import DINGTALK, WPS, RawCall
from openroster.control.journal import path_matches

Action = Literal["error", "http", "latency", "close"]

#: Default ``errmsg`` of the DingTalk codes a fault typically imitates.
DINGTALK_MESSAGES: dict[int, str] = {
    -1: "系统繁忙",
    90002: "服务器繁忙，接口调用超过限制",
    90005: "企业调用接口过于频繁，请稍后再试",
    90018: "当前应用调用该接口的频率超过上限，请稍后再试",
}
#: Default ``msg`` of the WPS codes a fault typically imitates.
WPS_MESSAGES: dict[int, str] = {
    42900001: "too many requests: the rate limit is exceeded; retry later",
    50000001: "internal error",
    50300001: "service unavailable; retry later",
}
_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    429: "Too Many Requests",
}


@dataclass(slots=True)
class Fault:
    id: str
    action: Action
    dialect: str | None = None
    method: str | None = None
    path: str | None = None
    app: str | None = None
    tenant: str | None = None
    body: str | None = None
    code: int | None = None
    message: str | None = None
    status: int | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    probability: float = 1.0
    #: Times left to fire; ``None`` until the rule is deleted.
    remaining: int | None = None
    hits: int = 0
    _body_bytes: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        self._body_bytes = self.body.encode() if self.body else b""
        if self.method:
            self.method = self.method.upper()

    @property
    def needs_app(self) -> bool:
        return self.app is not None or self.tenant is not None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": {
                "dialect": self.dialect,
                "method": self.method,
                "path": self.path,
                "app": self.app,
                "tenant": self.tenant,
                "body": self.body,
            },
            "action": self.action,
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "probability": self.probability,
            "remaining": self.remaining,
            "hits": self.hits,
        }

    def matches_request_line(self, method: str, path: str, dialect: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.dialect is not None and self.dialect != dialect:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path is None or path_matches(self.path, path)

    def reply(self, call: RawCall, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """``(status, headers, body)`` of an ``error`` or ``http`` fault for ``call``."""
        headers = [(b"x-openroster-fault", self.id.encode())]
        retry_after = self.retry_after
        if self.action == "http":
            status = self.status or 503
            body = f"{status} {_REASONS.get(status, 'Error')}".encode()
            headers.append((b"content-type", b"text/plain; charset=utf-8"))
        else:
            code = self.code if self.code is not None else 0
            dialect = call.dialect
            payload: dict[str, Any]
            if dialect == DINGTALK:
                status = self.status or 200
                payload = {"errcode": code, "errmsg": self.message or DINGTALK_MESSAGES.get(code, "系统错误")}
                if call.path.startswith("/topapi/"):
                    payload["request_id"] = request_id
            else:
                status = self.status or _wps_status(code)
                msg = self.message or WPS_MESSAGES.get(code, f"error {code}")
                payload = (
                    {"code": code, "msg": msg, "data": None} if dialect == WPS else {"code": code, "msg": msg}
                )
                if retry_after is None and dialect == WPS and 42900000 <= code < 43000000:
                    retry_after = 1
            body = orjson.dumps(payload)
            headers.append((b"content-type", b"application/json"))
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        return status, headers, body


def _wps_status(code: int) -> int:
    status = code // 100000
    return status if 10_000_000 <= code <= 99_999_999 and 100 <= status <= 599 else 200


class FaultBook:
    """The active fault rules, in the order they were added."""

    def __init__(self, *, rng: random.Random | None = None) -> None:
        self.rules: list[Fault] = []
        self._rng = rng or random.Random()  # chaos, not cryptography
        self._next = 0

    def add(self, **spec: Any) -> Fault:
        self._next += 1
        rule = Fault(id=f"f{self._next}", **spec)
        self.rules.append(rule)
        return rule

    def get(self, rule_id: str) -> Fault | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def remove(self, rule_id: str) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> int:
        n = len(self.rules)
        self.rules = []
        return n

    def candidates(self, method: str, path: str, dialect: str) -> list[Fault]:
        """Rules whose request-line criteria (cheap) match; the rest is checked by :meth:`fire`."""
        return [r for r in self.rules if r.matches_request_line(method, path, dialect)]

    def fire(
        self,
        candidates: list[Fault],
        call: RawCall,
        *,
        app_of: Callable[[RawCall], str | None],
        tenant_of: Callable[[str | None], str | None],
    ) -> Fault | None:
        """The first candidate that matches ``call`` in full and wins its dice roll; counts the hit."""
        app: tuple[str | None] | None = None
        for rule in candidates:
            if rule.remaining is not None and rule.remaining <= 0:
                continue
            if rule._body_bytes and rule._body_bytes not in call.body:
                continue
            if rule.needs_app:
                if app is None:
                    app = (app_of(call),)
                if rule.app is not None and app[0] != rule.app:
                    continue
                if rule.tenant is not None and tenant_of(app[0]) != rule.tenant:
                    continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
            rule.hits += 1
            return rule
        return None
