"""The server's half of replies in pieces (``dialects/pieces.py``): one vectored write to the socket.

:class:`PiecesCycle` is uvicorn's request-response cycle whose ``send`` takes a body message
holding its bytes in pieces (under :data:`~openroster.dialects.pieces.PIECES`) and hands them to
the transport's ``writelines``: uvloop writes them with one ``writev`` and keeps what the socket
does not take yet as it is, so the reply is never joined into one buffer. A start message that
says pieces follow (``PIECES`` set in it) has its head (status line and headers, made by
uvicorn) held and written in the same ``writelines``, before the pieces: one system call a
reply instead of two. Everything else (a plain body, the reply's end, flow control, a client
gone) is uvicorn's own ``send``; a head held for a client gone meanwhile is dropped, not written
to the closed transport. ``server/guard.py`` gives each request such a cycle and names the
extension in its scope.

Because the head is held, an app that raises after such a start message leaves the client with
no bytes at all (uvicorn closes the connection); before, it got the head and then a closed
connection. Either way the reply is broken off; a client sees it as a connection closed early.
"""

from __future__ import annotations

from typing import cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from openroster.dialects.pieces import PIECES, size_of


class _Held:
    """Stands in for the transport while uvicorn writes a reply's head: keeps the bytes."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


class PiecesCycle(RequestResponseCycle):
    """uvicorn's cycle, taking a body in pieces (see module)."""

    #: The head of a reply whose pieces follow, not written yet. (A class default: the server
    #: turns uvicorn's own cycle into this class after making it, ``server/guard.py``.)
    held: bytes = b""

    async def send(self, message: ASGISendEvent) -> None:
        kind = message["type"]
        if kind == "http.response.start" and message.get(PIECES) and not self.response_started:
            if self.flow.write_paused and not self.disconnected:
                await self.flow.drain()
            transport, holder = self.transport, _Held()
            self.transport = holder  # type: ignore[assignment]  # uvicorn only writes the head with it
            try:
                await super().send(message)
            finally:
                self.transport = transport
            self.held = holder.data
            return
        pieces = cast("list[bytes] | None", message.get(PIECES)) if kind == "http.response.body" else None
        if pieces is None:
            self._release()
            await super().send(message)
            return
        more_body = bool(message.get("more_body", False))
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if not self.response_started or self.response_complete or self.chunked_encoding:
            # not where pieces can go as they are (uvicorn refuses or frames it): its own way
            self._release()
            whole = b"".join(pieces)
            await super().send({"type": "http.response.body", "body": whole, "more_body": more_body})
            return
        if self.scope["method"] != "HEAD":
            size = size_of(pieces)  # a roster reply's 200 pieces are counted by their renderer
            if size > self.expected_content_length:
                self._release()
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= size
            head, self.held = self.held, b""
            self.transport.writelines([head, *pieces] if head else pieces)
        else:
            self._release()
        await super().send({"type": "http.response.body", "body": b"", "more_body": more_body})

    def _release(self) -> None:
        """Write a held head now (what follows it is not pieces); drop it if the client went away
        (uvloop raises on writing to the closed transport)."""
        if self.held:
            held, self.held = self.held, b""
            if not self.disconnected:
                self.transport.write(held)
