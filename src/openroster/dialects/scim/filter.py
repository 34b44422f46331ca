"""SCIM filters (RFC 7644 §3.4.2.2): a parser for the whole grammar and its evaluation on a resource.

``parse`` turns ``filter=`` text into a tree (``and`` binds tighter than ``or``, ``not (...)``,
grouping, value paths ``emails[type eq "work" and value co "@x"]``); ``matches`` evaluates a tree
on a rendered resource, with each attribute's type and case rule from ``schema.py``; ``parse_path``
reads a PATCH ``path`` (``attrPath`` or ``valuePath`` with an optional ``.subAttr``). Any error is
a 400 with ``scimType`` ``invalidFilter`` (``invalidPath`` for a PATCH path).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson

from openroster.dialects.scim import CORE, USER, schema
from openroster.dialects.scim.errors import ScimError, ScimType

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
    |(?P<punct>[()\[\]])
    |(?P<word>[A-Za-z0-9_$:.+\-]+)
    )""",
    re.VERBOSE,
)
_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_ATTRNAME = re.compile(r"^[A-Za-z$][\w$-]*$")


@dataclass(frozen=True, slots=True)
class AttrPath:
    """``[schema:]name[.sub]``: the schema URN (the core User's when none is given)."""

    schema: str
    name: str
    sub: str | None = None


@dataclass(frozen=True, slots=True)
class Compare:
    """``path op value``; ``pr`` (present) takes no value (None)."""

    path: AttrPath
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "and" | "or"
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    inner: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """``attr[filter]``: some value of the multi-valued ``attr`` matches ``filter`` (its sub-attributes)."""

    path: AttrPath
    inner: Filter


Filter = Compare | Logic | Not | ValuePath


def attr_path(text: str, *, default_schema: str = USER) -> AttrPath:
    """``text`` as an attribute path; raises ValueError when it is not one."""
    urn, colon, rest = text.rpartition(":")
    name, dot, sub = rest.partition(".")
    if not _ATTRNAME.match(name) or (dot and not _ATTRNAME.match(sub)):
        raise ValueError(f"{text!r} is not an attribute path")
    if colon:
        if urn.lower() not in {s.lower() for s in schema.SCHEMAS}:
            raise ValueError(f"{urn!r} is not a schema of this server")
        urn = next(s for s in schema.SCHEMAS if s.lower() == urn.lower())
    return AttrPath(urn if colon else default_schema, name, sub if dot else None)


class _Parser:
    def __init__(self, text: str, kind: ScimType) -> None:
        self.kind = kind
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise self.error(f"unexpected {text[pos:].strip()[:20]!r}")
            kind_ = m.lastgroup or ""
            self.tokens.append((kind_, m.group(kind_)))
            pos = m.end()
        self.i = 0

    def error(self, what: str) -> ScimError:
        return ScimError(
            400, f"{'filter' if self.kind is ScimType.INVALID_FILTER else 'path'}: {what}", self.kind
        )

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def word(self, *choices: str) -> bool:
        t = self.peek()
        if t is not None and t[0] == "word" and t[1].lower() in choices:
            self.i += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        if self.peek() != ("punct", punct):
            raise self.error(f"expected {punct!r}")
        self.i += 1

    def done(self) -> None:
        if (t := self.peek()) is not None:
            raise self.error(f"unexpected {t[1]!r}")

    def filter(self, default_schema: str = USER, *, nested: bool = False) -> Filter:
        left = self.conjunction(default_schema, nested)
        while self.word("or"):
            left = Logic("or", left, self.conjunction(default_schema, nested))
        return left

    def conjunction(self, default_schema: str, nested: bool) -> Filter:
        left = self.term(default_schema, nested)
        while self.word("and"):
            left = Logic("and", left, self.term(default_schema, nested))
        return left

    def term(self, default_schema: str, nested: bool) -> Filter:
        if self.word("not"):
            self.expect("(")
            inner = self.filter(default_schema, nested=nested)
            self.expect(")")
            return Not(inner)
        if self.peek() == ("punct", "("):  # grouping
            self.i += 1
            inner = self.filter(default_schema, nested=nested)
            self.expect(")")
            return inner
        path = self.path(default_schema)
        if self.peek() == ("punct", "["):
            if nested or path.sub is not None:
                raise self.error("a value filter cannot hold another one")
            self.i += 1
            inner = self.filter(path.schema, nested=True)
            self.expect("]")
            return ValuePath(path, inner)
        if self.word("pr"):
            return Compare(path, "pr")
        t = self.peek()
        if t is None or t[0] != "word" or t[1].lower() not in _OPS:
            raise self.error(f"expected an operator after {path.name!r}")
        self.i += 1
        return Compare(path, t[1].lower(), self.value())

    def path(self, default_schema: str) -> AttrPath:
        t = self.peek()
        if t is None or t[0] != "word":
            raise self.error("expected an attribute")
        self.i += 1
        try:
            return attr_path(t[1], default_schema=default_schema)
        except ValueError as exc:
            raise self.error(str(exc)) from None

    def value(self) -> Any:
        t = self.peek()
        if t is None:
            raise self.error("expected a value")
        self.i += 1
        kind, text = t
        if kind == "str":
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                raise self.error(f"{text} is not a valid string") from None
        low = text.lower()
        if kind == "word" and low in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[low]
        if kind == "word" and _NUMBER.match(text):
            return float(text) if any(c in text for c in ".eE") else int(text)
        raise self.error(f"{text!r} is not a value (strings are in double quotes)")


def parse(text: str, default_schema: str = USER) -> Filter:
    """The filter ``text`` says (400 ``invalidFilter`` when it says none); a path without a schema URN
    is of ``default_schema`` (the resource type's)."""
    p = _Parser(text, ScimType.INVALID_FILTER)
    if not p.tokens:
        raise p.error("empty")
    f = p.filter(default_schema)
    p.done()
    return f


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH ``path``: an attribute, optionally narrowed to the values matching ``where``, then ``sub``."""

    path: AttrPath
    where: Filter | None = None
    sub: str | None = None


def parse_path(text: str, default_schema: str = USER) -> PatchPath:
    """A PATCH operation's ``path`` (400 ``invalidPath`` when it is none)."""
    p = _Parser(text, ScimType.INVALID_PATH)
    path = p.path(default_schema)
    if p.peek() != ("punct", "["):
        p.done()
        return PatchPath(path)
    if path.sub is not None:
        raise p.error("a value filter follows an attribute, not a sub-attribute")
    p.i += 1
    where = p.filter(path.schema, nested=True)
    p.expect("]")
    sub: str | None = None
    t = p.peek()
    if t is not None and t[0] == "word" and t[1].startswith(".") and _ATTRNAME.match(t[1][1:]):
        sub = t[1][1:]
        p.i += 1
    p.done()
    return PatchPath(path, where, sub)


# -- evaluation -----------------------------------------------------------------------------


def get_any(obj: dict[str, Any], name: str) -> Any:
    """``obj[name]``, the name in any case (SCIM attribute names are case-insensitive), or None."""
    if name in obj:
        return obj[name]
    low = name.lower()
    return next((v for k, v in obj.items() if k.lower() == low), None)


def container(resource: dict[str, Any], urn: str) -> dict[str, Any]:
    """Where the attributes of schema ``urn`` are in ``resource`` (itself, or its extension object)."""
    if urn in CORE:
        return resource
    ext = get_any(resource, urn)
    return ext if isinstance(ext, dict) else {}


def definition(path: AttrPath) -> schema.Attr | None:
    """The declared attribute (sub-attribute) ``path`` names, or None."""
    top = schema.find(path.schema, path.name)
    if top is None or path.sub is None:
        return top
    return top.child(path.sub)


def values(resource: dict[str, Any], path: AttrPath) -> list[Any]:
    """Every value ``path`` names in ``resource`` (a multi-valued attribute's, flattened)."""
    top = get_any(container(resource, path.schema), path.name)
    items = top if isinstance(top, list) else ([] if top is None else [top])
    if path.sub is None:
        # A complex multi-valued attribute compares by its "value" (RFC 7644 §3.4.2.2).
        return [get_any(v, "value") if isinstance(v, dict) else v for v in items]
    return [get_any(v, path.sub) for v in items if isinstance(v, dict)]


def _as_datetime(v: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return None


def _compare(attr: schema.Attr | None, have: Any, op: str, want: Any) -> bool:
    if have is None:
        return op == "ne" and want is not None
    if want is None:
        return op == "ne"
    kind = attr.type if attr is not None else "string"
    if kind == "boolean" or isinstance(want, bool):
        if op not in ("eq", "ne"):
            raise ScimError(400, f"filter: {op} does not apply to a boolean", ScimType.INVALID_FILTER)
        return bool(have == want) == (op == "eq")
    if kind == "dateTime":
        a, b = _as_datetime(have), _as_datetime(want)
        if a is None or b is None:
            return False
        have, want = a, b
    elif isinstance(want, (int, float)):
        if not isinstance(have, (int, float)) or isinstance(have, bool):
            return False
    else:
        h, w = str(have), str(want)
        if attr is None or not attr.case_exact:
            h, w = h.lower(), w.lower()
        if op == "co":
            return w in h
        if op == "sw":
            return h.startswith(w)
        if op == "ew":
            return h.endswith(w)
        have, want = h, w
    if op in ("co", "sw", "ew"):
        raise ScimError(400, f"filter: {op} applies to strings only", ScimType.INVALID_FILTER)
    result: bool = {
        "eq": have == want,
        "ne": have != want,
        "gt": have > want,
        "ge": have >= want,
        "lt": have < want,
        "le": have <= want,
    }[op]
    return result


def matches(f: Filter, resource: dict[str, Any]) -> bool:
    """Whether ``resource`` (as rendered) matches ``f``."""
    if isinstance(f, Logic):
        if f.op == "and":
            return matches(f.left, resource) and matches(f.right, resource)
        return matches(f.left, resource) or matches(f.right, resource)
    if isinstance(f, Not):
        return not matches(f.inner, resource)
    if isinstance(f, ValuePath):
        top = get_any(container(resource, f.path.schema), f.path.name)
        items = top if isinstance(top, list) else ([] if top is None else [top])
        return any(isinstance(v, dict) and item_matches(f.inner, f.path, v) for v in items)
    found = values(resource, f.path)
    if f.op == "pr":
        return any(v not in (None, "", [], {}) for v in found)
    attr = definition(f.path)
    if f.op == "ne":
        return not any(_compare(attr, v, "eq", f.value) for v in found) if found else f.value is not None
    return any(_compare(attr, v, f.op, f.value) for v in found) or (
        not found and _compare(attr, None, f.op, f.value)
    )


def _rooted(f: Filter, parent: AttrPath) -> Filter:
    """``f`` with each path read as a sub-attribute of ``parent`` (``type`` in ``emails[type eq ...]``)."""
    if isinstance(f, Logic):
        return Logic(f.op, _rooted(f.left, parent), _rooted(f.right, parent))
    if isinstance(f, Not):
        return Not(_rooted(f.inner, parent))
    assert isinstance(f, Compare)  # the parser refuses a value filter inside another
    return Compare(AttrPath(parent.schema, parent.name, f.path.name), f.op, f.value)


def item_matches(f: Filter, parent: AttrPath, item: dict[str, Any]) -> bool:
    """Whether ``item``, one value of the multi-valued ``parent``, matches the value filter ``f``."""
    probe = {parent.name: [item]} if parent.schema in CORE else {parent.schema: {parent.name: [item]}}
    return matches(_rooted(f, parent), probe)


K = TypeVar("K")


def candidates(f: Filter, named: Callable[[Compare], list[K] | None]) -> list[K] | None:
    """The keys of every resource that may match ``f``, where ``named`` gives those of one ``eq``
    comparison on a string (from the store; None: it cannot say): an ``and`` needs one leg named,
    an ``or`` both. None: ``f`` can only be answered by testing every resource."""
    if isinstance(f, Compare) and f.op == "eq" and isinstance(f.value, str):
        return named(f)
    if isinstance(f, Logic):
        left, right = candidates(f.left, named), candidates(f.right, named)
        if f.op == "and":
            return left if left is not None else right
        if left is not None and right is not None:
            return [*left, *right]
    return None
