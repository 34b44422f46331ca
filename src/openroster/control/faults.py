"""Fault rules: make the platform misbehave on purpose.

A rule matches platform calls by dialect, method, path (exact or a glob where
``*`` also crosses ``/``; WPS gateway prefixes are ignored), app, tenant and a
substring of the request body. When it fires (with its ``probability``, while
it has ``times`` left) it acts:

- ``error``: the dialect's own error reply with the given platform ``code``,
  rendered by the dialect (``Dialect.fault_reply``: WPS ``{"code", "msg", "data"}``
  with the HTTP status the 8-digit code starts with; DingTalk ``{"errcode",
  "errmsg"}`` with HTTP 200), and a ``Retry-After`` header when ``retry_after``
  is set (WPS 429xxxxx codes send one of 1 s by default);
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

from openroster.control.calls import RawCall
from openroster.control.journal import path_matches
from openroster.dialects import registry
from openroster.dialects.base import FaultReply, InjectedError
from openroster.store import Store
from openroster.store.controlplane import CONTROL_KIND, FAULTS

Action = Literal["error", "http", "latency", "close"]

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
        if self.action == "http":
            status = self.status or 503
            body = f"{status} {_REASONS.get(status, 'Error')}".encode()
            reply = FaultReply(status, body, "text/plain; charset=utf-8", self.retry_after)
        else:
            # The call's dialect renders it; a path of no platform gets the fallback's envelope.
            dialect = registry.named(call.dialect) or registry.FALLBACK
            wanted = InjectedError(self.code or 0, self.message, self.status, self.retry_after)
            reply = dialect.fault_reply(call.path, wanted, request_id)
        headers = [
            (b"x-openroster-fault", self.id.encode()),
            (b"content-type", reply.media_type.encode()),
            *([(b"retry-after", str(reply.retry_after).encode())] if reply.retry_after is not None else []),
            (b"content-length", str(len(reply.body)).encode()),
        ]
        return reply.status, headers, reply.body


#: The fields of a rule a store row keeps in its ``spec`` (``remaining`` and ``hits`` are columns).
_SPEC_FIELDS = (
    "action",
    "dialect",
    "method",
    "path",
    "app",
    "tenant",
    "body",
    "code",
    "message",
    "status",
    "retry_after",
    "latency_ms",
    "probability",
)


def _number(rule_id: str) -> int | None:
    digits = rule_id[1:]
    return int(digits) if rule_id[:1] == "f" and digits.isdigit() and len(digits) < 19 else None


class FaultBook:
    """The fault rules, in the order they were added.

    With a ``store`` (a server), the rules live in it, shared by every process on it: this book
    caches them (:meth:`load`, called when the change log says they changed) and spends a rule's
    ``times`` in the store, one conditional decrement per hit, so a rule fires exactly that many
    times whichever process answers. Without one (unit tests), the book is the rules.
    """

    def __init__(self, *, store: Callable[[], Store] | None = None, rng: random.Random | None = None) -> None:
        self.rules: list[Fault] = []
        self._store = store
        self._rng = rng or random.Random()  # chaos, not cryptography
        self._next = 0

    def load(self, rows: list[tuple[int, dict[str, Any], int | None, int]]) -> None:
        """Replace the cached rules with the store's ``(number, spec, remaining, hits)`` rows."""
        self.rules = [
            Fault(id=f"f{n}", remaining=remaining, hits=hits, **spec) for n, spec, remaining, hits in rows
        ]

    def refresh(self) -> list[Fault]:
        """The rules, read again from the store (their hits and times left as of now)."""
        if self._store is not None:
            with self._store().read() as tx:
                self.load(tx.control.faults())
        return self.rules

    def add(self, **spec: Any) -> Fault:
        if self._store is None:
            self._next += 1
            rule = Fault(id=f"f{self._next}", **spec)
            self.rules.append(rule)
            return rule
        remaining = spec.pop("remaining", None)
        stored = {k: v for k, v in spec.items() if k in _SPEC_FIELDS}
        with self._store().write() as tx:
            number = tx.control.add_fault(stored, remaining)
            tx.changed("", CONTROL_KIND, FAULTS)
            self.load(tx.control.faults())
        added = self.get(f"f{number}")
        assert added is not None
        return added

    def get(self, rule_id: str) -> Fault | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def remove(self, rule_id: str) -> bool:
        if self._store is None:
            before = len(self.rules)
            self.rules = [r for r in self.rules if r.id != rule_id]
            return len(self.rules) != before
        number = _number(rule_id)
        if number is None:
            return False
        with self._store().write() as tx:
            gone = tx.control.delete_fault(number)
            if gone:
                tx.changed("", CONTROL_KIND, FAULTS)
            self.load(tx.control.faults())
        return gone

    def clear(self) -> int:
        if self._store is None:
            n = len(self.rules)
            self.rules = []
            return n
        with self._store().write() as tx:
            n = tx.control.clear_faults()
            tx.changed("", CONTROL_KIND, FAULTS)
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
            if not self._take(rule):
                continue
            return rule
        return None

    def _take(self, rule: Fault) -> bool:
        """Count a hit of ``rule``, spending one of its times; False when it has none left."""
        number = _number(rule.id) if self._store is not None else None
        if self._store is None or number is None:
            if rule.remaining is not None:
                rule.remaining -= 1
            rule.hits += 1
            return True
        with self._store().write() as tx:
            left = tx.control.take_fault(number, limited=rule.remaining is not None)
        if left is None:  # spent (by another process) or deleted meanwhile
            rule.remaining = 0
            return False
        if rule.remaining is not None:
            rule.remaining = left
        rule.hits += 1
        return True
