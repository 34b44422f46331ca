"""Request ids made cheaply: a head drawn at random once per process, then a counter.

Every call gets ids (the ``X-Request-Id`` header, DingTalk's ``request_id`` and ``/v1.0``'s
``requestId``); drawing each one at random cost a system call and, for a UUID, a ``UUID`` object a
call. Here only the head is random (drawn again in a child forked from the process), and the
counter after it starts at a random value: ids are unique within a process, and two processes
share a head with the chance of a random collision of its bits.
"""

from __future__ import annotations

import itertools
import os
import secrets
import uuid
import weakref
from collections.abc import Callable, Iterator

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
#: Every two-character base-36 string, in order: four look-ups spell eight digits.
_PAIRS = tuple(a + b for a in _BASE36 for b in _BASE36)
_PAIR = len(_PAIRS)


class CountedIds:
    """Ids ``spell(head, n)``: ``head`` from ``draw()``, once per process; ``n`` counts up from
    ``start()``. Calling the object makes the next id."""

    __slots__ = ("__weakref__", "_count", "_draw", "_head", "_spell", "_start")

    def __init__(
        self, draw: Callable[[], str], spell: Callable[[str, int], str], start: Callable[[], int] = lambda: 1
    ) -> None:
        self._draw = draw
        self._spell = spell
        self._start = start
        self._head = ""
        self._count: Iterator[int] = iter(())
        self._redraw()
        _LIVE.add(self)

    def _redraw(self) -> None:
        self._head = self._draw()
        self._count = itertools.count(self._start())

    def __call__(self) -> str:
        return self._spell(self._head, next(self._count))


_LIVE: weakref.WeakSet[CountedIds] = weakref.WeakSet()


def _redraw_all() -> None:
    for ids in list(_LIVE):
        ids._redraw()


os.register_at_fork(after_in_child=_redraw_all)


def _uuid_head() -> str:
    """The first four groups of a random version-4 UUID, in upper case (24 characters)."""
    return str(uuid.uuid4()).upper()[:24]


def _uuid(head: str, n: int) -> str:
    return "%s%012X" % (head, n & 0xFFFFFFFFFFFF)  # noqa: UP031  (the fastest spelling)


def _base36_head() -> str:
    return "".join(secrets.choice(_BASE36) for _ in range(5))


def _base36(head: str, n: int) -> str:
    """``head`` and eight base-36 digits of ``n`` (modulo 36**8)."""
    pairs, size = _PAIRS, _PAIR
    return (
        head
        + pairs[n // size**3 % size]
        + pairs[n // size**2 % size]
        + pairs[n // size % size]
        + pairs[n % size]
    )


def _hex_head() -> str:
    return os.urandom(3).hex()[:5]


def _hex(head: str, n: int) -> str:
    return "%s%08x" % (head, n)  # noqa: UP031


def upper_uuids() -> CountedIds:
    """Upper-case UUIDs of version 4's form (``/v1.0``'s ``requestid``): the last group counts."""
    return CountedIds(_uuid_head, _uuid, lambda: secrets.randbits(47))


def base36_ids() -> CountedIds:
    """13 lowercase letters and digits (DingTalk's ``request_id``): five drawn, eight counting."""
    return CountedIds(_base36_head, _base36, lambda: secrets.randbelow(_PAIR**4 // 2))


def hex_ids() -> CountedIds:
    """13 lowercase hex characters (``X-Request-Id``): a five-character head and a counter from 1."""
    return CountedIds(_hex_head, _hex)
