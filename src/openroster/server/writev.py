"""The server's half of replies in pieces (``dialects/pieces.py``): one vectored write to the socket.

:class:`PiecesCycle` is uvicorn's request-response cycle whose ``send`` takes a body message
holding its bytes in pieces (under :data:`~openroster.dialects.pieces.PIECES`) and hands them to
the transport's ``writelines``: uvloop writes them with one ``writev`` and keeps what the socket
does not take yet as it is, so the reply is never joined into one buffer. Everything else
(a plain body, the reply's end, flow control, a client gone) is uvicorn's own ``send``.
``server/guard.py`` gives each request such a cycle and names the extension in its scope.
"""

from __future__ import annotations

from typing import cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from openroster.dialects.pieces import PIECES, size_of


class PiecesCycle(RequestResponseCycle):
    """uvicorn's cycle, taking a body in pieces (see module)."""

    async def send(self, message: ASGISendEvent) -> None:
        pieces = cast("list[bytes] | None", message.get(PIECES))
        if pieces is None:
            await super().send(message)
            return
        more_body = bool(message.get("more_body", False))
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if not self.response_started or self.response_complete or self.chunked_encoding:
            # not where pieces can go as they are (uvicorn refuses or frames it): its own way
            whole = b"".join(pieces)
            await super().send({"type": "http.response.body", "body": whole, "more_body": more_body})
            return
        if self.scope["method"] != "HEAD":
            size = size_of(pieces)  # a roster reply's 200 pieces are counted by their renderer
            if size > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= size
            self.transport.writelines(pieces)
        await super().send({"type": "http.response.body", "body": b"", "more_body": more_body})
