"""A JSON body that gives one key twice in an object is ambiguous: the dialects refuse it.

JSON parsers keep one of the two values (orjson and pydantic the last, others
the first), so the client cannot know which one the server acted on. Finding
a repeated key exactly means parsing again with ``object_pairs_hook`` (the
standard library's parser, in Python, several times slower than the fast
parser): :func:`repeated_key` does that only when a cheap test cannot prove
that the body has no repeated key, which it proves for every body the clients
we know send.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import orjson

#: :func:`repeated_key`'s "not parsed yet".
_UNPARSED: Any = object()
#: How JSON can spell a ``:`` inside a string other than as itself (``\u003a``, ``\u003A``).
_ESCAPED_COLON = b"\\u003"
#: :func:`member_names` gives up past this many ``:`` (then a pass over the whole text costs less
#: than many look-ups).
MEMBER_NAMES_MAX = 16


class Unchecked(ValueError):
    """The exact check could not parse the body (nested deeper than the standard parser goes)."""


class _Members(list[tuple[str, Any]]):
    """One JSON object's members, in order, as the exact parse sees them."""


class Repeated(NamedTuple):
    """A key given twice in one object, and where: ``users[0].user_id``."""

    key: str
    where: str

    def message(self, within: str = "") -> str:
        """What a reply says of it (``within``: where the JSON was, a form field's name, say)."""
        where = f"{within}.{self.where}" if within else self.where
        return f"{where}: the key {self.key!r} is given more than once in one object; send it once"


def repeated_key(body: bytes, parsed: Any = _UNPARSED) -> Repeated | None:
    """The first key given twice in one object of the JSON ``body``, or None when every object's
    keys are distinct. ``parsed``: ``orjson.loads(body)``, when the
    caller has it already (it is not parsed again).

    ``body`` is JSON some parser took (the callers parse it first). Why the cheap tests never miss
    a repeated key. In JSON text a ``:`` byte is either the separator after a member's name or a
    character inside a string: numbers, ``true``, ``false``, ``null``, white space and ``{}[],``
    hold none. So

    - a body with fewer than two ``:`` has at most one member in all: no object in it can give a
      key twice (batch_read's ``{"user_ids": [...]}`` stops here);
    - in a body without a backslash, the text between the two quotes before a separator is its
      member's name exactly, as decoded (a name without an escape is its bytes, and holds no
      quote). So when the texts before every ``:`` (:func:`member_names`; those before a ``:``
      inside a string are extra) are all distinct, no two members of any object share a name
      (GetEmployeeRosterByField's ``{"appAgentId": ..., "userIdList": [...]}`` stops here,
      without a second parse);
    - otherwise, parse it (orjson keeps one member of each repeated key and drops the others) and
      write it out again. The output has a ``:`` for each member it kept and for each ``:`` in the
      strings it kept; orjson escapes only quotes, backslashes and control characters, never ``:``.
      When the body spells no ``:`` as an escape (no ``\\u003``, checked), a string holds exactly as
      many ``:`` in the body as decoded, so the body's count is the output's plus, for every member
      dropped, at least its own separator. The counts are equal exactly when nothing was dropped,
      that is, when no key was repeated.

    Only when the counts differ (a repeated key, or a ``:`` escaped as ``\\u003a``) or the fast parser
    refuses the body (numbers it cannot hold, which pydantic takes) is the body parsed the exact
    way. Raises :class:`Unchecked` when that parse fails.
    """
    # ``find``, not ``in``: ``bytes in bytes`` makes and drops a ``TypeError`` each time.
    escapes = body.find(b"\\") >= 0
    if not escapes:
        names = member_names(body)  # a name a ``:``: fewer than two is fewer than two ``:``
        if names is not None and len(set(names)) == len(names):
            return None
    colons = body.count(b":")
    if colons < 2:
        return None
    if not escapes or body.find(_ESCAPED_COLON) < 0:  # one byte is found faster than six
        try:
            value = orjson.loads(body) if parsed is _UNPARSED else parsed
            if orjson.dumps(value).count(b":") == colons:
                return None
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass
    return _exact(body)


def member_names(data: bytes) -> list[bytes] | None:
    """In JSON text without a backslash (whole or cut short), what can be a member's name: for
    each ``:``, the text between the two quotes before it. A name is a string without quotes in
    it, then white space and ``:``, so every member's name is among these (with the text before a
    ``:`` inside a string). None past :data:`MEMBER_NAMES_MAX` of them."""
    names: list[bytes] = []
    colon = data.find(b":")
    while colon >= 0:
        if len(names) == MEMBER_NAMES_MAX:
            return None
        close = data.rfind(b'"', 0, colon)
        if close >= 0:
            names.append(data[data.rfind(b'"', 0, close) + 1 : close])
        colon = data.find(b":", colon + 1)
    return names


def _exact(body: bytes) -> Repeated | None:
    try:
        tree = json.loads(body, object_pairs_hook=_Members)
    except RecursionError:
        raise Unchecked("the request body is nested too deeply to be checked for repeated keys") from None
    except ValueError as exc:  # not JSON after all (UnicodeDecodeError is a ValueError too)
        raise Unchecked(f"the request body is not valid JSON: {exc}") from None
    stack: list[tuple[Any, str]] = [(tree, "")]
    while stack:  # iterative: the body may be nested as deep as the parser goes
        node, at = stack.pop()
        if isinstance(node, _Members):
            seen: set[str] = set()
            for key, value in node:
                where = f"{at}.{key}" if at else key
                if key in seen:
                    return Repeated(key, where)
                seen.add(key)
                stack.append((value, where))
        elif isinstance(node, list):
            stack.extend((item, f"{at}[{i}]") for i, item in enumerate(node))
    return None
