"""uvicorn's WebSocket protocol, telling DingTalk Stream clients the server is going away.

When the server shuts down, uvicorn closes every WebSocket (1012) before the app's lifespan ends.
A Stream client is told first, as the platform tells it: a SYSTEM ``disconnect`` frame
``{reason}``, after which the official SDK closes and opens a new connection (``connections/open``
again, once the server is back). The platform closes about 10 s after the frame; a server going
down closes at once.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from openroster.events.channels.stream import DISCONNECT, new_message_id, system_frame

#: What the disconnect frame says.
SHUTDOWN_REASON = "the server is shutting down"


class StreamWebSocketProtocol(WebSocketsSansIOProtocol):
    def shutdown(self) -> None:
        if self.handshake_complete and not self.close_sent and not self.transport.is_closing():
            message_id = new_message_id()
            self.conn.send_text(system_frame(DISCONNECT, {"reason": SHUTDOWN_REASON}, message_id))
            self.transport.write(b"".join(self.conn.data_to_send()))
        super().shutdown()
