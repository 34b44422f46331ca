"""JSON texts for fuzzing, any duplicate included: objects are drawn as lists of members, so a key
may come twice in one object at any depth, and keys and strings hold ``:`` (also escaped as
``\\u003a``), quotes, backslashes and any character.

:func:`repeats` finds the repeated keys by walking the drawn tree, written from RFC 8259 §4 (an
object's names SHOULD be unique), not from the server's check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st


@dataclass(frozen=True)
class Obj:
    """A JSON object as drawn: its members in order, a key possibly more than once."""

    members: tuple[tuple[str, Any], ...]


#: Any character but NUL (which every dialect refuses first, for its own reason: docs/security.md).
_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=10)
#: Keys from a small alphabet repeat often; ':' and '"' test the counting and the escaping.
keys = st.one_of(st.sampled_from(["a", "b", "title", "a:b", ":", '"', "\\", "é"]), _text)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
    st.sampled_from(["x:y", "::", "http://a.b:8080/"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(keys, inner), max_size=4).map(lambda m: Obj(tuple(m))),
    ),
    max_leaves=20,
)
#: A top-level object, and whether to spell its strings' ':' as ``\u003a``, ``\u003A`` or as is.
objects = st.tuples(
    st.lists(st.tuples(keys, values), max_size=5).map(lambda m: Obj(tuple(m))),
    st.sampled_from([":", "\\u003a", "\\u003A"]),
)


def text(value: Any, colon: str = ":") -> str:
    """``value`` as JSON text, every ``:`` inside a string spelled ``colon``."""
    if isinstance(value, Obj):
        return "{" + ",".join(f"{text(k, colon)}:{text(v, colon)}" for k, v in value.members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(text(v, colon) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace(":", colon)
    return json.dumps(value)


def repeats(value: Any, at: str = "") -> set[str]:
    """Where a key comes twice in one object of ``value``: ``a[0].b`` for each such place."""
    found: set[str] = set()
    if isinstance(value, Obj):
        seen: set[str] = set()
        for key, item in value.members:
            where = f"{at}.{key}" if at else key
            if key in seen:
                found.add(where)
            seen.add(key)
            found |= repeats(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found |= repeats(item, f"{at}[{i}]")
    return found
