"""The request journal: every platform call, in a bounded ring buffer, secrets redacted.

Recording must cost the platform next to nothing, so an entry keeps the raw
pieces of the exchange (references to the request's header list and body
chunks, the first bytes of the reply) and everything else is worked out when
the journal is read: the app and tenant, the platform code (``code`` or
``errcode`` of the reply), the parsed body, and the redaction of tokens,
signatures and app secrets, which never leave the server.

The buffer holds the newest ``size`` entries; older ones are dropped first.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, quote_plus, urlencode

import orjson

from openroster.control.calls import RawCall, dialect_of, without_gateway
from openroster.control.secret_names import may_name_secrets, secret_name
from openroster.dialects.raw import form_or_query, header, is_form
from openroster.model.errors import InvalidValue

REDACTED = "[redacted]"
_REDACTED = REDACTED.encode()
#: The first bytes of a reply kept to find its platform code (both dialects put it first); small
#: enough for Python's small-object allocator.
REPLY_HEAD_BYTES = 448

#: Header values that are credentials throughout.
_SECRET_HEADERS = frozenset({b"cookie", b"proxy-authorization", b"x-api-key"})
#: Headers carrying ``"<scheme> <access key>:<signature>"``: the access key stays, the signature goes.
_SIGNATURE_HEADERS = frozenset({b"x-kso-authorization", b"wps-docs-authorization"})
_CODE_KEYS = (b'"code"', b'"errcode"')
#: Text that percent-encoding and form-encoding leave as it is (RFC 3986's unreserved characters).
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
#: A JSON member ``"name": value`` of a string or number value, in text that may be cut anywhere
#: (a string value cut short runs to the end).
_JSON_MEMBER = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*(?:"|$)|-?\d[\d.eE+-]*)')
_INT = re.compile(rb"\s*:\s*(-?\d+)")
#: A string code (``/v1.0``'s ``"code": "invalidParameter"``): a JSON string without escapes.
_STR = re.compile(rb'\s*:\s*"([^"\\]{1,128})"')


@dataclass(slots=True, eq=False)
class Entry:
    """One platform call as recorded: raw pieces, worked out lazily by :meth:`view`."""

    seq: int
    time: float
    method: str
    path: str
    query: bytes
    headers: Any
    body: bytes
    body_size: int
    status: int
    reply_head: bytes
    latency: float
    request_id: str
    fault: str | None
    _app: tuple[str | None] | None = field(default=None, init=False, repr=False)
    _view: dict[str, Any] | None = field(default=None, init=False, repr=False)

    def raw(self) -> RawCall:
        return RawCall(self.method, self.path, self.query, self.headers, self.body)

    def app(self, identify: Callable[[RawCall], str | None]) -> str | None:
        if self._app is None:
            self._app = (identify(self.raw()),)
        return self._app[0]

    def knowing_app(self, app: str | None) -> Entry:
        """This entry, its app already known (a stored call: its credentials are redacted)."""
        self._app = (app,)
        return self

    def view(self, identify: Callable[[RawCall], str | None]) -> dict[str, Any]:
        """The entry as the control API shows it (without ``tenant``), computed once."""
        if self._view is None:
            self._view = _render(self, self.app(identify))
        return self._view


def _render(e: Entry, app: str | None) -> dict[str, Any]:
    body = e.body
    secrets: set[str] = set()
    headers = {k.decode("latin-1"): _header_value(k, v, secrets) for k, v in e.headers}
    query = _redacted_pairs(form_or_query(e.query), secrets)
    shown_body = _body(e.headers, body, secrets)
    truncated = len(body) < e.body_size
    out: dict[str, Any] = {
        "id": e.seq,
        "time": datetime.fromtimestamp(e.time, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "timestamp": e.time,
        "dialect": dialect_of(e.path),
        "app": app,
        "method": e.method,
        "path": e.path,
        "query": query,
        "headers": headers,
        "body": shown_body,
        "body_size": e.body_size,
        "body_truncated": truncated,
        "status": e.status,
        "code": platform_code(e.reply_head),
        "reply": _body((), e.reply_head, secrets),
        "reply_truncated": len(e.reply_head) >= REPLY_HEAD_BYTES,
        "latency_ms": round(e.latency * 1000, 3),
        "request_id": e.request_id,
        "fault": e.fault,
    }
    scrubbed: dict[str, Any] = _scrub(out, {s for s in secrets if len(s) >= 6})
    return scrubbed


def redacted_pieces(
    query: bytes, headers: Any, body: bytes, reply_head: bytes, *, reply_names: bool = True
) -> tuple[bytes, tuple[tuple[bytes, bytes], ...], bytes, bytes]:
    """The raw pieces of a call with every secret :meth:`Entry.view` would redact already
    replaced (what leaves the process: the store's journal table holds no token, signature or
    secret). JSON members under a secret's name (a token reply's ``access_token``, ...) go too, whole
    or cut short: the reply's unless ``reply_names`` is False (``base.Route.reply_names_secrets``)."""
    h = _shown_headers(headers)
    secrets = set(h.secrets)
    # Parameters as the view shows them (one value a name), secret ones by name whatever their length.
    query = urlencode(_redacted_pairs(form_or_query(query), secrets)).encode() if query else b""
    if body and h.form:
        body = urlencode(_redacted_pairs(form_or_query(body), secrets)).encode()
    elif may_name_secrets(body):  # looked at once: a body that names none keeps its members
        _body(headers, body, secrets)
        body = _json_members(body, secrets)
    if reply_names and may_name_secrets(reply_head):
        reply_head = _json_members(reply_head, secrets)
    own = len(secrets) == len(h.secrets)  # the headers' own secrets only (the set only grows)
    forms = h.forms if own else _forms(secrets)
    shown = h.scrubbed if own else tuple((k, _scrubbed(v, forms)) for k, v in h.shown)
    return _scrubbed(query, forms), shown, _scrubbed(body, forms), _scrubbed(reply_head, forms)


def _forms(secrets: Iterable[str]) -> list[bytes]:
    """How ``secrets`` (of 6 characters or more) may appear, longest first: as they are, and
    percent- and form-encoded unless no encoding changes them (as tokens)."""
    forms: list[bytes] = []
    for s in sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True):
        spelt = (s,) if _UNRESERVED.fullmatch(s) else (s, quote(s, safe=""), quote_plus(s))
        forms += [f.encode() for f in dict.fromkeys(spelt)]
    return forms


def _scrubbed(data: bytes, forms: list[bytes]) -> bytes:
    for f in forms:  # ``replace`` answers the same object when ``f`` is not in it
        data = data.replace(f, _REDACTED)
    return data


class _Shown(NamedTuple):
    """A header list worked out once: ``shown`` with the ``secrets`` in it redacted, ``form``
    (``raw.is_form``), the ``forms`` of the secrets, and ``scrubbed``: ``shown`` without them
    (the stored headers of a call with no other secret). Kept for the last few lists in
    ``_SHOWN``: a client sends the same ones call after call (its token, its content type)."""

    shown: list[tuple[bytes, bytes]]
    secrets: frozenset[str]
    form: bool
    forms: list[bytes]
    scrubbed: tuple[tuple[bytes, bytes], ...]


_SHOWN: dict[Any, _Shown] = {}
_SHOWN_MAX = 64


def _shown_headers(headers: Any) -> _Shown:
    """``headers`` redacted, and what else the journal needs of them (see :class:`_Shown`)."""
    try:
        key = headers if isinstance(headers, tuple) else tuple(headers)
        hit = _SHOWN.get(key)
    except TypeError:  # a list of lists: not kept
        key, hit = None, None
    if hit is None:
        secrets: set[str] = set()
        shown = [(k, _header_value(k, v, secrets).encode("latin-1", "replace")) for k, v in headers]
        forms = _forms(secrets)
        scrubbed = tuple((k, _scrubbed(v, forms)) for k, v in shown)
        hit = _Shown(shown, frozenset(secrets), is_form(headers), forms, scrubbed)
        if key is not None:
            if len(_SHOWN) >= _SHOWN_MAX:
                _SHOWN.clear()
            _SHOWN[key] = hit
    return hit


def _json_members(data: bytes, secrets: set[str]) -> bytes:
    """JSON text (whole or cut short) with its members under a secret's name redacted."""
    if data[:1] not in (b"{", b"["):
        return data
    return _redacted_json_text(data.decode("utf-8", errors="replace"), secrets).encode()


def _header_value(name: bytes, value: bytes, secrets: set[str]) -> str:
    text = value.decode("latin-1")
    if name == b"authorization":
        kind, sep, cred = text.partition(" ")
        if not sep:
            secrets.add(text)
            return REDACTED
        secrets.add(cred.strip())
        if kind.lower() == "basic":
            secrets.update(_basic_parts(cred))
        return f"{kind} {REDACTED}"
    if name in _SIGNATURE_HEADERS:
        scheme, _, rest = text.strip().partition(" ")
        access_key, sep, sig = rest.partition(":")
        if sig:
            secrets.add(sig)
        return f"{scheme} {access_key}:{REDACTED}" if sep else REDACTED
    if name in _SECRET_HEADERS or secret_name(name.decode("latin-1")):
        secrets.add(text)
        return REDACTED
    return text


def _basic_parts(cred: str) -> list[str]:
    import base64

    try:
        _cid, _, secret = base64.b64decode(cred.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return []
    return [secret] if secret else []


def _redacted_pairs(pairs: dict[str, str], secrets: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in pairs.items():
        if secret_name(k):
            secrets.add(v)
            out[k] = REDACTED
        else:
            out[k] = v
    return out


def _body(headers: Any, body: bytes, secrets: set[str]) -> Any:
    if not body:
        return None
    if is_form(headers):
        return _redacted_pairs(form_or_query(body), secrets)
    ctype = (header(headers, b"content-type") or "").lower()
    if "json" in ctype or body[:1] in (b"{", b"["):
        try:
            return _redacted_json(orjson.loads(body), secrets)
        except orjson.JSONDecodeError:  # cut (a kept body, a reply's first bytes) or not JSON
            return _redacted_json_text(body.decode("utf-8", errors="replace"), secrets)
    return body.decode("utf-8", errors="replace")


def _redacted_json(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if secret_name(k) and isinstance(v, str | int | float):
                secrets.add(str(v))
                out[k] = REDACTED
            else:
                out[k] = _redacted_json(v, secrets)
        return out
    if isinstance(value, list):
        return [_redacted_json(v, secrets) for v in value]
    return value


def _redacted_json_text(text: str, secrets: set[str]) -> str:
    """JSON that does not parse (cut short), its secret members redacted as :func:`_redacted_json` does."""
    if not may_name_secrets(text.encode()):
        return text

    def member(m: re.Match[str]) -> str:
        if not secret_name(m.group(1)):
            return m.group(0)
        value = m.group(3)
        secrets.add(value.strip('"'))
        return f'"{m.group(1)}"{m.group(2)}"{REDACTED}"'

    return _JSON_MEMBER.sub(member, text)


def _scrub(value: Any, secrets: set[str]) -> Any:
    """Every secret seen in one place of the entry, removed from every other place too."""
    if not secrets:
        return value
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, REDACTED)
        return value
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def platform_code(head: bytes) -> int | str | None:
    """The top-level ``code`` / ``errcode`` of a JSON reply, from its first bytes: a number, or a
    string (DingTalk ``/v1.0``'s codes)."""
    depth = 0
    in_string = False
    escaped = False
    i = 0
    n = len(head)
    while i < n:
        c = head[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:  # backslash
                escaped = True
            elif c == 0x22:
                in_string = False
            i += 1
            continue
        if c == 0x22:  # a string starts: is it a top-level code key?
            if depth == 1:
                for key in _CODE_KEYS:
                    if head.startswith(key, i):
                        m = _INT.match(head, i + len(key))
                        if m is not None:
                            return int(m.group(1))
                        m = _STR.match(head, i + len(key))
                        if m is not None:
                            return m.group(1).decode("utf-8", errors="replace")
            in_string = True
        elif c in (0x7B, 0x5B):
            depth += 1
        elif c in (0x7D, 0x5D):
            depth -= 1
        i += 1
    return None


#: The range of a numeric code filter (the platforms' codes are 32-bit integers).
_CODE_MIN, _CODE_MAX = -(2**31), 2**31 - 1
_NUMBER = re.compile(r"-?\d{1,11}")


def journal_code(value: str | None) -> int | str | None:
    """A ``code`` filter as the journal compares it: digits are a number (``60121``; WPS and
    ``/topapi``), anything else a string code (``invalidParameter``; ``/v1.0``)."""
    if value is None:
        return None
    if _NUMBER.fullmatch(value):
        number = int(value)
        if not _CODE_MIN <= number <= _CODE_MAX:
            raise InvalidValue(f"code: {value} is not a 32-bit number", field="code")
        return number
    if not value.strip():
        raise InvalidValue("code: empty", field="code")
    return value


# -- the buffer ----------------------------------------------------------------------

#: Where a recorded call's header pairs start in its tuple (:meth:`Journal.record`), name and
#: value one after the other: ``(seq, time, method, path, query, body, body_size, status,
#: reply_head, latency, request_id, fault, name, value, name, value, ...)``.
HEADERS_AT = 12
_flat = itertools.chain.from_iterable


def recorded_headers(raw: tuple[Any, ...]) -> tuple[tuple[bytes, bytes], ...]:
    """The header pairs of a recorded call (:meth:`Journal.record`'s tuple)."""
    names_values = iter(raw[HEADERS_AT:])
    return tuple(zip(names_values, names_values, strict=False))  # one iterator: pairs


def recorded_entry(raw: tuple[Any, ...]) -> Entry:
    """An :class:`Entry` of a recorded call (:meth:`Journal.record`'s tuple)."""
    seq, at, method, path, query, body, size, status, head, latency, request_id, fault = raw[:HEADERS_AT]
    headers = recorded_headers(raw)
    return Entry(seq, at, method, path, query, headers, body, size, status, head, latency, request_id, fault)


@dataclass(frozen=True, slots=True)
class Filters:
    tenant: str | None = None
    app: str | None = None
    path: str | None = None
    #: A number (WPS, ``/topapi``) or a string (``/v1.0``: ``invalidParameter``).
    code: int | str | None = None
    status: int | None = None
    dialect: str | None = None
    method: str | None = None
    since: float | None = None
    after: int | None = None


class Journal:
    """A bounded ring buffer of platform calls; ``size`` 0 turns recording off.

    :meth:`record` appends a flat tuple of raw pieces (the cheapest thing to make, untracked by
    the collector once young);
    :meth:`entries` turns them into :class:`Entry` objects when the journal is read.
    """

    def __init__(self, size: int, *, body_max: int = 64 * 1024) -> None:
        self.size = size
        self.body_max = body_max
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=max(size, 1))
        self._seq = itertools.count(1)
        self._dropped = 0
        self._made: dict[int, Entry] = {}

    @property
    def enabled(self) -> bool:
        return self.size > 0

    @property
    def dropped(self) -> int:
        """Entries dropped to make room since the journal was last cleared."""
        return self._dropped

    def record(
        self,
        scope: Any,
        at: float,
        started: float,
        body: list[bytes],
        body_size: int,
        status: int,
        reply_head: bytes,
        request_id: str,
        fault: str | None,
        ended: float,
    ) -> None:
        """Keep one call: ``scope`` is its ASGI scope, ``started``/``ended`` perf-counter readings.

        The entry is one flat tuple of strings, bytes, numbers and None (:data:`HEADERS_AT`), the
        header pairs laid out at its end: the collector stops tracking such a tuple at the first
        young pass it survives, so thousands of live entries never lengthen its passes. (A tuple
        holding tuples loses its tracking only a pass after what it holds does, as the pass finds
        them, and had reached the older generations, still tracked, by then: every pass over them
        walked the whole buffer.)
        """
        entries = self._entries
        if len(entries) == self.size:
            self._dropped += 1
        entries.append(
            (
                next(self._seq),
                at,
                scope["method"],
                scope["path"],
                scope["query_string"],
                body[0] if len(body) == 1 else b"".join(body),
                body_size,
                status,
                reply_head,
                ended - started,
                request_id,
                fault,
                *_flat(scope["headers"]),
            )
        )

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, limit: int | None = None) -> tuple[list[tuple[Any, ...]], int]:
        """Hand over the recorded calls, oldest first (``limit`` of them at most), and the count of
        those dropped to make room (for the shared journal, ``shared_journal.py``); what is taken
        leaves the buffer. Safe from another thread while calls are recorded (each call is popped
        whole)."""
        entries = self._entries
        n = len(entries) if limit is None else min(limit, len(entries))
        taken = [entries.popleft() for _ in range(n)]
        dropped, self._dropped = self._dropped, 0
        return taken, dropped

    def recorded(self) -> list[tuple[Any, ...]]:
        """The recorded calls as kept (:meth:`record`'s tuples), oldest first."""
        return list(self._entries)

    def clear(self) -> int:
        n = len(self._entries)
        self._entries.clear()
        self._made.clear()
        self._dropped = 0
        return n

    def remove(self, keep: Callable[[Entry], bool]) -> int:
        """Drop the entries ``keep`` says no to; returns how many went."""
        raws = self.recorded()
        kept = [raw for raw, e in zip(raws, self.entries(), strict=True) if keep(e)]
        self._entries.clear()
        self._entries.extend(kept)
        return len(raws) - len(kept)

    def entries(self) -> list[Entry]:
        """The entries, oldest first (each made once, so its view is worked out once)."""
        out = list(self.newest_first())
        out.reverse()
        return out

    def newest_first(self) -> Iterator[Entry]:
        """The entries from the newest back, each made when reached (asking for the last makes one)."""
        made = self._made
        if len(made) > 2 * len(self._entries):  # forget entries the buffer has dropped
            live = {raw[0] for raw in self._entries}
            made = self._made = {k: v for k, v in made.items() if k in live}
        for raw in reversed(list(self._entries)):
            e = made.get(raw[0])
            if e is None:
                e = made[raw[0]] = recorded_entry(raw)
            yield e


class Calls(Protocol):
    """What :func:`select` reads: a :class:`Journal`, or the journal every process shares."""

    def entries(self) -> list[Entry]: ...

    def newest_first(self) -> Iterator[Entry]: ...


def select(
    journal: Calls,
    f: Filters,
    *,
    identify: Callable[[RawCall], str | None],
    tenant_of: Callable[[str | None], str | None],
    newest: int | None = None,
) -> list[tuple[Entry, str | None]]:
    """``(entry, tenant)`` of the journal's entries that pass every filter, oldest first.

    With ``newest``, only that many of the newest matches (found from the end, so asking for the
    last entry looks at one). Cheap filters run first; an entry is rendered only when shown.
    """
    out: list[tuple[Entry, str | None]] = []
    for e in journal.newest_first() if newest is not None else journal.entries():
        if f.after is not None and e.seq <= f.after:
            if newest is not None:
                break  # older entries only from here on
            continue
        if f.since is not None and e.time < f.since:
            continue
        if f.method is not None and e.method != f.method.upper():
            continue
        if f.status is not None and e.status != f.status:
            continue
        if f.dialect is not None and dialect_of(e.path) != f.dialect:
            continue
        if f.path is not None and not path_matches(f.path, e.path):
            continue
        if f.code is not None and platform_code(e.reply_head) != f.code:
            continue
        app = e.app(identify)
        if f.app is not None and app != f.app:
            continue
        tenant = tenant_of(app)
        if f.tenant is not None and tenant != f.tenant:
            continue
        out.append((e, tenant))
        if newest is not None and len(out) >= newest:
            break
    if newest is not None:
        out.reverse()
    return out


def path_matches(pattern: str, path: str) -> bool:
    """``pattern`` is a path or a glob (``*`` matches across ``/``); gateway prefixes are ignored."""
    bare = without_gateway(path)
    if "*" in pattern or "?" in pattern or "[" in pattern:
        return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(bare, without_gateway(pattern))
    return pattern in (path, bare) or without_gateway(pattern) == bare
