"""uvicorn's WebSocket protocol, telling DingTalk Stream clients the server is going away.

When the server shuts down, uvicorn closes every WebSocket (1012) before the app's lifespan ends.
A Stream client is told first, as the platform tells it: a SYSTEM ``disconnect`` frame
``{reason}``. The official SDK acknowledges it, closes the connection itself and opens a new one
(``connections/open`` again, once the server is back); a client that has not closed within
:data:`DISCONNECT_GRACE` seconds is closed by the server (the platform waits about 10 s; a
server going down waits less).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from openroster.events.channels.stream import DISCONNECT, new_message_id, system_frame

#: What the disconnect frame says.
SHUTDOWN_REASON = "the server is shutting down"
#: Seconds a client has to close after the disconnect frame before the server closes.
DISCONNECT_GRACE = 2.0


class StreamWebSocketProtocol(WebSocketsSansIOProtocol):
    def shutdown(self) -> None:
        if not self.handshake_complete or self.close_sent or self.transport.is_closing():
            super().shutdown()
            return
        message_id = new_message_id()
        self.conn.send_text(system_frame(DISCONNECT, {"reason": SHUTDOWN_REASON}, message_id))
        self.transport.write(b"".join(self.conn.data_to_send()))
        asyncio.get_running_loop().call_later(DISCONNECT_GRACE, self._close_late)

    def _close_late(self) -> None:
        if not self.transport.is_closing():  # the client did not close by itself
            super().shutdown()
