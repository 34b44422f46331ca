"""A reply sent in the pieces it was rendered in, never joined into one buffer.

A roster reply of 100 people is some 900 KB of cached items. Joining them costs a copy of all
of it from memory (the items of rotating requests are not in the CPU's caches); the socket
needs no such buffer: the server this project runs under (``server/guard.py``) writes the
pieces with one vectored write. It says so by naming :data:`EXTENSION` in the request scope's
``extensions``; the body message then carries the pieces under :data:`PIECES` (its ``body``
empty). Under any other ASGI server (the test client, ``bench/inprocess.py``) the pieces are
joined and sent as one ``body``, as a plain :class:`Response` sends it.

A middleware that looks at the reply's bytes reads them with :func:`head`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

#: The scope extension a server sets when its ``send`` takes a body message in pieces.
EXTENSION = "openroster.response.pieces"
#: The key of a body message holding the reply's pieces (a list of bytes).
PIECES = "openroster.pieces"


class Pieces(list[bytes]):
    """A handler result that is JSON already, in pieces: sent as they are (see module).

    ``size`` is their bytes in all, counted when not given: a reply's 200 pieces of about 9 KB are
    counted in their renderer, whose cache keeps each one's length (counting them again makes
    an integer object of each length, some 60,000 instructions a reply)."""

    __slots__ = ("size",)

    def __init__(self, parts: Iterable[bytes] = (), size: int | None = None) -> None:
        super().__init__(parts)
        self.size: int = sum(map(len, self)) if size is None else size

    def within(self, head: bytes, tail: bytes) -> Pieces:
        """These pieces, ``head`` put before them and ``tail`` after, in place (a handler's pieces
        are made for its one reply): a copy of a roster reply's 200 pieces into another list costs
        some 13,000 instructions, the insert at the front a move of their pointers."""
        self.insert(0, head)
        self.append(tail)
        self.size += len(head) + len(tail)
        return self


#: Set in the environment (the test suite sets it, tests/conftest.py, for its servers too), every
#: :class:`Pieces`' ``size`` is checked against its pieces where a reply takes it (:func:`size_of`):
#: a list change that does not go through :meth:`Pieces.within` (append, extend, ``+=``, a slice
#: assigned) leaves ``size`` stale, and the server would send bytes past the Content-Length.
ENV_CHECK_SIZES = "OPENROSTER_CHECK_PIECES_SIZE"
#: Whether :func:`size_of` checks (see :data:`ENV_CHECK_SIZES`); off in production, a count less.
CHECK_SIZES = bool(os.environ.get(ENV_CHECK_SIZES))


def size_of(pieces: list[bytes]) -> int:
    """The bytes of ``pieces`` in all: a :class:`Pieces`' own count, else counted (see :class:`Pieces`)."""
    if not isinstance(pieces, Pieces):
        return sum(map(len, pieces))
    if CHECK_SIZES:
        counted = sum(map(len, pieces))
        if counted != pieces.size:
            raise AssertionError(f"Pieces.size is {pieces.size}, its pieces hold {counted} bytes")
    return pieces.size


class PiecesResponse(Response):
    """HTTP ``status_code`` with the body ``pieces`` (see module)."""

    def __init__(self, pieces: list[bytes], *, media_type: str, status_code: int = 200) -> None:
        # What starlette's ``Response.__init__`` makes of no content, a Content-Length and a media
        # type, made directly: its general path (a dict of headers, encoded, searched) cost some
        # 18,000 instructions a reply for these two headers.
        self.pieces = pieces
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.body = b""
        if media_type.startswith("text/") and "charset=" not in media_type.lower():
            media_type += "; charset=" + self.charset
        self.raw_headers = [
            (b"content-length", b"%d" % size_of(pieces)),
            (b"content-type", media_type.encode("latin-1")),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if EXTENSION in (scope.get("extensions") or ()):
            # ``PIECES`` in the start message: the server may hold the head and write it with them
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                    PIECES: True,
                }
            )
            await send({"type": "http.response.body", "body": b"", PIECES: self.pieces})
        else:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            await send({"type": "http.response.body", "body": b"".join(self.pieces)})


def head(message: Mapping[str, Any], size: int) -> bytes:
    """The first ``size`` bytes (or fewer) of a body message's bytes, in pieces or not."""
    pieces: list[bytes] | None = message.get(PIECES)
    if pieces is None:
        body: bytes = message.get("body", b"")
        return body if len(body) <= size else body[:size]
    out = b""
    for piece in pieces:
        out += piece[: size - len(out)]
        if len(out) >= size:
            break
    return out
